"""Languages, and the catalogs that put flow texts into each person's language.

Catalogs are read straight from ``locales/<lang>/LC_MESSAGES/<domain>.po``: no compiled
``.mo`` files to forget at deploy time, and a translator's fix is live on restart.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po

from bot.engine.text import RTL_LANGUAGES
from bot.flowtexts import FlowText
from bot.sms import describe, render_sms, segments

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "RTL_LANGUAGES",
    "SOURCE_LANGUAGE",
    "CatalogError",
    "Catalogs",
    "Finish",
    "Problem",
    "Translator",
    "check_catalogs",
    "language_name",
    "negotiate",
    "shipped_language",
]

LANGUAGES: tuple[str, ...] = ("fr", "en", "ar", "fa_AF", "uk", "pt", "tr")
DEFAULT_LANGUAGE = "fr"
SOURCE_LANGUAGE = "en"  # flows are written in English; it is also the fallback text

# Each language named in itself, as the person looks for it in a menu.
_NAMES = {
    "fr": "Français",
    "en": "English",
    "ar": "العربية",
    "fa_AF": "دری",
    "uk": "Українська",
    "pt": "Português",
    "tr": "Türkçe",
}
# Telegram sends "fa" or "prs" for Dari speakers, and Iranian Persian readers share the
# script and most of the vocabulary: Dari serves them better than French.
_ALIASES = {"fa": "fa_AF", "prs": "fa_AF", "pes": "fa_AF"}


def language_name(code: str) -> str:
    """The language named in itself ("دری" for fa_AF); Babel's name, or the code, for others."""
    if code in _NAMES:
        return _NAMES[code]
    try:
        return Locale.parse(code).get_display_name(code) or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code


def shipped_language(tag: str | None) -> str | None:
    """The shipped language for a tag like "pt-BR", "fa", "prs" or "ar_MA"; None if none."""
    if not tag:
        return None
    parts = [p for p in re.split(r"[-_]", tag.strip()) if p]
    if not parts:
        return None
    language = parts[0].lower()
    regions = [p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()]
    for region in regions:
        if f"{language}_{region}" in LANGUAGES:
            return f"{language}_{region}"
    if language in LANGUAGES:
        return language
    return _ALIASES.get(language)


def negotiate(chosen: str | None, hint: str | None, default: str) -> str:
    """The person's choice, else the channel's hint (Telegram language_code), else default."""
    return (
        shipped_language(chosen)
        or shipped_language(hint)
        or shipped_language(default)
        or DEFAULT_LANGUAGE
    )


# ------------------------------------------------------------------------ catalogs


class CatalogError(Exception):
    """A catalog file that cannot be read: start-up stops and names it."""


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


@dataclass(frozen=True)
class Translator:
    """Flow texts in one language; an untranslated text stays in the English source."""

    language: str
    messages: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict, repr=False)
    plural_index: Callable[[int], int] = field(default=_english_plural, repr=False)

    def gettext(self, msgid: str) -> str:
        """The translation of ``msgid``, or ``msgid`` itself."""
        found = self.messages.get(msgid)
        return found if isinstance(found, str) else msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form for ``n`` by the language's rules, or the English one."""
        forms = self.messages.get(singular)
        if isinstance(forms, tuple):
            index = self.plural_index(n)
            if 0 <= index < len(forms):
                return forms[index]
        return singular if n == 1 else plural


@dataclass(frozen=True)
class _Language:
    path: Path
    catalog: Catalog | None  # None: the file does not exist
    translator: Translator

    def translation(self, msgid: str) -> str | tuple[str, ...] | None:
        """The usable translation (plural forms as a tuple), or None."""
        return self.translator.messages.get(msgid)

    def why_missing(self, msgid: str) -> str:
        """Why a text has no usable translation, for the report: fuzzy, or a plural form empty."""
        message = self.catalog.get(msgid) if self.catalog is not None else None
        if message is None:
            return ""
        if message.fuzzy:
            return " (fuzzy)"
        if isinstance(message.string, (tuple, list)) and any(message.string):
            empty = [str(i) for i, form in enumerate(message.string) if not form]
            return f" (plural form {', '.join(empty)} empty)"
        return ""


def _translated(catalog: Catalog) -> dict[str, str | tuple[str, ...]]:
    """The usable entries: translated, not fuzzy, no form left empty."""
    messages: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy or message.context:
            continue
        if isinstance(message.id, (tuple, list)):
            forms = tuple(message.string or ())
            if forms and all(forms):
                messages[message.id[0]] = forms
        elif isinstance(message.string, str) and message.string:
            messages[message.id] = message.string
    return messages


def _read(path: Path, language: str, domain: str) -> _Language:
    if not path.exists():
        return _Language(path, None, Translator(language))
    try:
        with path.open("rb") as fileobj:
            catalog = read_po(
                fileobj, locale=language, domain=domain, ignore_obsolete=True, abort_invalid=True
            )
        # Plural-Forms from the file's header, which Babel fills from the locale's rules
        # when the header has none: translators' msgstr[i] follow that order.
        plural_index = gettext.c2py(catalog.plural_expr)
    except (OSError, ValueError, PoFileError, UnknownLocaleError) as error:
        raise CatalogError(f"{path}: {error}") from error
    return _Language(path, catalog, Translator(language, _translated(catalog), plural_index))


@dataclass(frozen=True)
class Catalogs:
    """The flow-text catalogs of every shipped language, read from .po files."""

    domain: str
    _languages: Mapping[str, _Language] = field(repr=False)

    @classmethod
    def load(
        cls, locales_dir: Path, domain: str = "flows", languages: Iterable[str] = LANGUAGES
    ) -> Catalogs:
        """Read ``<locales_dir>/<lang>/LC_MESSAGES/<domain>.po``; a missing file is empty."""
        return cls(
            domain,
            {
                language: _read(
                    locales_dir / language / "LC_MESSAGES" / f"{domain}.po", language, domain
                )
                for language in languages
            },
        )

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages loaded, in order."""
        return tuple(self._languages)

    def translator(self, language: str) -> Translator:
        """The translator for a language; for one without a catalog, the English source."""
        found = self._languages.get(language)
        return found.translator if found is not None else Translator(language)


# -------------------------------------------------------------------------- checks

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")
# Plural forms may leave the number out ("une semaine", "أسبوعان"): "{count}" is optional.
_COUNT = "count"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something `relais flows check` reports: where, in which language, what."""

    file: str
    line: int | None
    language: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: [{self.language}] {self.message}"


def _quote(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return f'"{flat[: limit - 1]}…"' if len(flat) > limit else f'"{flat}"'


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _placeholder_problem(source: FlowText, forms: tuple[str, ...]) -> str | None:
    expected = _placeholders(source.msgid) | _placeholders(source.plural or "")
    for form in forms:
        found = _placeholders(form)
        missing = expected - found - ({_COUNT} if source.plural is not None else set())
        if missing or found - expected:
            names = ", ".join(f"{{{n}}}" for n in sorted(expected)) or "none"
            given = ", ".join(f"{{{n}}}" for n in sorted(found)) or "none"
            return f"placeholders differ (expected {names}, found {given}): {_quote(form)}"
    return None


# How a text is finished for a language before it is sent, e.g. the engine's RTL isolates.
Finish = Callable[[str, str], str]


def _as_written(text: str, language: str) -> str:
    return text


def _budget_problem(
    text: FlowText, forms: tuple[str, ...], translator: Translator, finish: Finish
) -> str | None:
    if text.sms_segments is None:
        return None
    language = translator.language
    # A label kept as written (`translate: false`) is not in the catalog: gettext keeps it.
    choices = [finish(translator.gettext(choice), language) for choice in text.choices]
    for form in forms:
        count = segments(render_sms(finish(form, language), choices))
        if count.segments > text.sms_segments:
            return (
                f"too long for SMS: {describe(count)}, budget {text.sms_segments} SMS: "
                f"{_quote(form)}"
            )
    return None


def _check_text(text: FlowText, language: str, state: _Language, finish: Finish) -> Iterator[str]:
    status = state.translation(text.msgid)
    source_forms: tuple[str, ...] = (
        (text.msgid,) if text.plural is None else (text.msgid, text.plural)
    )
    if status is None:
        if language != SOURCE_LANGUAGE:
            why = state.why_missing(text.msgid)
            yield f"missing translation{why}: {_quote(text.msgid)}"
            return
        forms = source_forms  # English may stay the source: it is checked as sent
    elif isinstance(status, tuple) != (text.plural is not None):
        yield f"plural and singular mixed up: {_quote(text.msgid)}"
        return
    else:
        # Babel pads missing plural forms and refuses extra ones when reading: no count here.
        forms = (status,) if isinstance(status, str) else status
        if (problem := _placeholder_problem(text, forms)) is not None:
            yield problem
    if (problem := _budget_problem(text, forms, state.translator, finish)) is not None:
        yield problem


def check_catalogs(
    messages: Iterable[FlowText], catalogs: Catalogs, finish: Finish = _as_written
) -> list[Problem]:
    """Missing translations, placeholder mismatches and SMS overruns, in file order."""
    problems: list[Problem] = []
    texts = list(messages)
    for language, state in catalogs._languages.items():
        if state.catalog is None and language != SOURCE_LANGUAGE and texts:
            # One line, not one per text: the whole catalog is missing.
            problems.append(Problem(str(state.path), None, language, "no catalog"))
            continue
        for text in texts:
            problems.extend(
                Problem(text.file, text.line, language, message)
                for message in _check_text(text, language, state, finish)
            )
    order = {language: i for i, language in enumerate(catalogs.languages)}
    return sorted(problems, key=lambda p: (p.file, p.line or 0, order.get(p.language, 0)))
