"""What a step sees while it runs: the person, the results, the translator; it collects events."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.engine.events import (
    Event,
    FieldSaved,
    LanguageChanged,
    MessageCreated,
    ResultSaved,
)
from bot.engine.model import Expression, Text
from bot.engine.text import Translations, Translator, fill, for_language

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
_ONLY_PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}$")


@dataclass(frozen=True)
class ContactView:
    """The little the engine knows about the person: language and record fields."""

    language: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    # Where the person lives (IANA name): "today" and "tonight" are theirs, not UTC's.
    timezone: str = "UTC"


class StepFailure(Exception):
    """Content that cannot run (a bad language code, a bad check-in time): fails the run."""


class Context:
    """Mutable scratchpad of one sprint; steps read values and emit events through it."""

    def __init__(
        self,
        translations: Translations,
        contact: ContactView,
        results: dict[str, Any],
        now: datetime,
    ) -> None:
        self.translations = translations
        self.language = contact.language
        self.translator: Translator = translations.translator(contact.language)
        # Fields saved during this sprint must be visible to later conditions in it.
        self.fields: dict[str, Any] = dict(contact.fields)
        self.results = results
        self.now = now
        self.timezone = contact.timezone
        self.events: list[Event] = []
        # Steps run in this sprint (the runner counts them; benchmarks read them).
        self.steps = 0

    @property
    def local_now(self) -> datetime:
        """`now` on the person's clock: at 00:30 in Paris, their today is not UTC's."""
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise StepFailure(f"unknown timezone {self.timezone!r}") from None
        return self.now.astimezone(zone)

    def emit(self, event: Event) -> None:
        """Record an event."""
        self.events.append(event)

    def lookup(self, name: str) -> Any:
        """`results.x`, `contact.x`, or a bare `x` (results first, then contact); else None."""
        scope, _, key = name.partition(".")
        if not key:
            return self.results.get(name, self.fields.get(name))
        if scope == "results":
            return self.results.get(key)
        if scope == "contact":
            return self.language if key == "language" else self.fields.get(key)
        return None

    def render(self, text: Text, extra: Mapping[str, Any] | None = None) -> str:
        """Translate a text into the person's language and fill its placeholders."""
        values = dict(extra or {})
        if text.plural is not None and text.count is not None:
            count = self.lookup(text.count)
            n = count if isinstance(count, int) and not isinstance(count, bool) else 0
            values.setdefault("count", n)
            translated = self.translator.ngettext(text.source, text.plural, n)
        else:
            translated = self.translator.gettext(text.source)
        return self.fill(translated, values)

    def fill(self, template: str, extra: Mapping[str, Any] | None = None) -> str:
        """Fill placeholders without translating (templates in set, open_case, …)."""
        values = extra or {}
        return fill(template, lambda name: values[name] if name in values else self.lookup(name))

    def value_of(self, template: Any) -> Any:
        """A `set` value: an expression computed, other non-strings as written, `{name}` alone
        keeps the value's type, other strings are templates."""
        if isinstance(template, Expression):
            return template.evaluate(self.lookup)
        if not isinstance(template, str):
            return template
        match = _ONLY_PLACEHOLDER.match(template)
        return self.lookup(match.group(1)) if match else self.fill(template)

    def finish(self, text: str) -> str:
        """Script-specific finishing of a rendered text (isolates in Arabic and Dari)."""
        return for_language(text, self.language)

    def send(
        self,
        text: Text,
        step: str,
        choices: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
        suffix: str = "",
    ) -> None:
        """Emit a MessageCreated with the rendered text and already-rendered choices."""
        rendered = self.finish(self.render(text, extra) + suffix)
        finished = tuple(self.finish(choice) for choice in choices)
        self.emit(MessageCreated(rendered, finished, step, text.source))

    def save(self, target: str, value: Any, step: str, answer: str | None = None) -> None:
        """Save to `results.x` or `contact.x` (`contact.language` changes the language)."""
        scope, _, key = target.partition(".")
        if scope == "results":
            self.results[key] = value
            self.emit(ResultSaved(key, value, step, answer))
        elif key == "language":
            self.change_language(value)
        else:
            self.fields[key] = value
            self.emit(FieldSaved(key, value))

    def change_language(self, language: Any) -> None:
        """Switch the language of every following text; a bad code fails the run."""
        if not isinstance(language, str) or not LANGUAGE_CODE.match(language):
            raise StepFailure(f"not a language code: {language!r}")
        # Emitted even when unchanged: the host learns the person chose, not just defaulted.
        self.language = language
        self.translator = self.translations.translator(language)
        self.emit(LanguageChanged(language))
