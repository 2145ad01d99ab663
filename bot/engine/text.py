"""Translation protocol, placeholder filling and right-to-left isolation of flow texts."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

RTL_LANGUAGES = frozenset({"ar", "fa_AF"})

LRI, PDI = "\u2066", "\u2069"  # left-to-right isolate … pop directional isolate

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")

# A left-to-right run: starts with a Latin letter, a digit or "+", may go on through spaces
# and the punctuation of phone numbers, codes and links, and ends on a letter or digit, so
# "+33 6 39 98 00 00", "3114", "STOP" and "France VAE" are each one run.
_LATIN = r"0-9A-Za-z\u00C0-\u024F"
_LTR_RUN = rf"(?:\+|[{_LATIN}])(?:[{_LATIN} .:/@_\-]*[{_LATIN}])?"
_ISOLATED_OR_RUN = re.compile(rf"{LRI}[^{PDI}]*{PDI}|({_LTR_RUN})")


class Translator(Protocol):
    """Gettext for one language (bot/i18n.py provides the real one)."""

    @property
    def language(self) -> str: ...

    def gettext(self, msgid: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class Translations(Protocol):
    """Gives a Translator per language."""

    def translator(self, language: str) -> Translator: ...


@dataclass(frozen=True)
class IdentityTranslator:
    """English source texts, unchanged; plural by English rules."""

    language: str = "en"

    def gettext(self, msgid: str) -> str:
        """Return the source text."""
        return msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Return singular for 1, plural otherwise."""
        return singular if n == 1 else plural


class IdentityTranslations:
    """Translations that return the English source in every language (tests, `relais chat`)."""

    def translator(self, language: str) -> Translator:
        """A translator that keeps the source text but reports `language`."""
        return IdentityTranslator(language)


def format_value(value: Any) -> str:
    """How a saved value reads inside a text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and set(value) == {"min", "max"}:
        low, high = value["min"], value["max"]
        return str(low) if low == high else f"{low}-{high}"
    if isinstance(value, list):
        return ", ".join(format_value(item) for item in value)
    return str(value)


def fill(text: str, lookup: Callable[[str], Any]) -> str:
    """Replace `{name}` placeholders with values from `lookup`; a missing one becomes ""."""
    return PLACEHOLDER.sub(lambda match: format_value(lookup(match.group(1))), text)


def placeholders(text: str) -> set[str]:
    """The placeholder names used in a text."""
    return set(PLACEHOLDER.findall(text))


def isolate_ltr(text: str) -> str:
    """Wrap digits, phone numbers and Latin-script runs in Unicode isolates (idempotent)."""

    def wrap(match: re.Match[str]) -> str:
        run = match.group(1)
        return match.group() if run is None else f"{LRI}{run}{PDI}"

    return _ISOLATED_OR_RUN.sub(wrap, text)


def for_language(text: str, language: str) -> str:
    """Apply the script-specific finishing a language needs (isolates for RTL)."""
    return isolate_ltr(text) if language in RTL_LANGUAGES else text


def numbered(text: str, choices: Sequence[str]) -> str:
    """A message as sent on SMS/WhatsApp: the text, then one numbered line per choice."""
    lines = [text, *(f"{number}. {label}" for number, label in enumerate(choices, start=1))]
    return "\n".join(lines)
