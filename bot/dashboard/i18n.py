"""The workers' interface in French or English: the `dashboard` catalog and its checks.

Catalogs are read from ``locales/<lang>/LC_MESSAGES/dashboard.po`` and compiled in
memory once per process, like the flow catalogs: no ``.mo`` file to forget at deploy time.
Texts are written in English in the code and templates; both catalogs are complete.
"""

from __future__ import annotations

import re
import threading
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.support import NullTranslations, Translations
from flask import request, session
from flask_babel import Domain, get_locale  # type: ignore[import-untyped, unused-ignore]

from bot import paths

DOMAIN = "dashboard"
LANGUAGES: tuple[str, ...] = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
# Where the worker's own choice (the fr/en switch) is kept.
SESSION_KEY = "language"

_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


class CatalogDomain(Domain):  # type: ignore[misc]
    """A Flask-Babel domain whose catalogs come straight from the .po files."""

    def __init__(self, locales_dir: Path, domain: str) -> None:
        super().__init__(translation_directories=[str(locales_dir)], domain=domain)
        self.locales_dir = locales_dir
        self.name = domain
        self._loaded: dict[str, NullTranslations] = {}
        self._lock = threading.Lock()

    def get_translations(self) -> NullTranslations:
        """The catalog of the current request's language (none outside a request)."""
        locale = get_locale()
        return NullTranslations() if locale is None else self.translations_for(str(locale))

    def translations_for(self, language: str) -> NullTranslations:
        """The catalog for `language`, compiled on first use; the English source if none."""
        with self._lock:
            if language not in self._loaded:
                self._loaded[language] = self._compile(language)
            return self._loaded[language]

    def _compile(self, language: str) -> NullTranslations:
        path = self.locales_dir / language / "LC_MESSAGES" / f"{self.name}.po"
        if not path.is_file():
            return NullTranslations()
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=self.name)
        buffer = BytesIO()
        # Fuzzy entries are left out, as msgfmt does: an unchecked guess is not shown.
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=self.name)


domain = CatalogDomain(paths.locales_dir(), DOMAIN)


def _(text: str, **variables: Any) -> str:
    """`text` in the worker's language, with ``%(name)s`` placeholders filled."""
    result: str = domain.gettext(text, **variables)
    return result


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The plural form for `num` in the worker's language (``%(num)d`` is filled)."""
    result: str = domain.ngettext(singular, plural, num, **variables)
    return result


def N_(text: str) -> str:
    """Mark `text` for extraction only; it is translated where it is shown."""
    return text


def _l(text: str, **variables: Any) -> Any:
    """A text translated when it is shown: for labels defined at import time."""
    return domain.lazy_gettext(text, **variables)


def select_language() -> str:
    """The worker's choice in the session, else the browser's among fr/en, else French."""
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def check_dashboard_catalogs(locales_dir: Path) -> list[str]:
    """Problems in the dashboard catalogs as `file: message` lines; empty when complete.

    Each shipped interface language has every text of ``dashboard.pot`` translated, none
    fuzzy, and the same ``%(name)s`` placeholders as the source.
    """
    template_path = locales_dir / f"{DOMAIN}.pot"
    try:
        template = _read(template_path)
    except (OSError, PoFileError) as exc:
        return [f"{template_path}: cannot read the dashboard template: {exc}"]
    problems: list[str] = []
    for language in LANGUAGES:
        path = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        try:
            catalog = _read(path, language)
        except (OSError, PoFileError) as exc:
            problems.append(f"{path}: cannot read the catalog: {exc}")
            continue
        for source in template:
            if not source.id:
                continue
            key = source.id if isinstance(source.id, str) else source.id[0]
            message = catalog.get(key, source.context)
            if message is None:
                problems.append(f"{path}: missing {key!r}")
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy:
                problems.append(f"{path}:{message.lineno}: fuzzy translation of {key!r}")
            elif not all(strings):
                problems.append(f"{path}:{message.lineno}: {key!r} is not translated")
            elif any(_placeholders(s) != _placeholders(key) for s in strings):
                problems.append(f"{path}:{message.lineno}: placeholders differ in {key!r}")
    return problems


def _read(path: Path, language: str | None = None) -> Any:
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN, abort_invalid=True)


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))
