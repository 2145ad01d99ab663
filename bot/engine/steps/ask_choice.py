"""ask_choice: waits for one of `options`, by number, whole label or keyword.

```yaml
lonely:
  ask_choice: How often do you feel lonely?
  options:
    often: {label: Often or always, keywords: "often, always"}
    never: {label: Never}
  save: results.loneliness
  next: want_call
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from bot.engine.answers import ChoiceOption, match_choice
from bot.engine.context import Context
from bot.engine.defaults import INVALID_CHOICE
from bot.engine.model import Strict, Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep, TextRef

OPTION_KEY = re.compile(r"^[A-Za-z0-9_]+$")
# Translators may separate keywords with the Arabic comma or a semicolon.
KEYWORD_SEPARATORS = re.compile(r"[,،;]")

KEYWORDS_COMMENT = "Comma-separated words a person may answer with to pick this option."


class Option(Strict):
    """One option: its label and optional keywords; `translate: false` keeps them as written."""

    label: Text
    keywords: Text | None = None
    translate: bool = True

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `never: Never` is short for `never: {label: Never}`.
        return {"label": value} if isinstance(value, str) else value


@register
class AskChoice(AskStep):
    """Waits for one of `options`; saves the option's key."""

    TYPE: ClassVar[str] = "ask_choice"
    DEFAULT_INVALID: ClassVar[str] = INVALID_CHOICE
    ask_choice: Text
    options: dict[str, Option] = Field(min_length=1)

    @field_validator("options", mode="before")
    @classmethod
    def _keys_are_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in value:
                if isinstance(key, bool):
                    raise ValueError(
                        f"option key {str(key).lower()} is read as a boolean by YAML: quote it"
                    )
                if not OPTION_KEY.match(str(key)):
                    raise ValueError(f"option key {key!r} must be letters, digits or _")
            return {str(key): option for key, option in value.items()}
        return value

    def _label(self, ctx: Context, option: Option) -> str:
        return ctx.render(option.label) if option.translate else ctx.fill(option.label.source)

    def _keywords(self, ctx: Context, option: Option) -> tuple[str, ...]:
        if option.keywords is None:
            return ()
        words = (
            ctx.render(option.keywords) if option.translate else ctx.fill(option.keywords.source)
        )
        return tuple(word.strip() for word in KEYWORD_SEPARATORS.split(words) if word.strip())

    def render_choices(self, ctx: Context) -> tuple[str, ...]:
        return tuple(self._label(ctx, option) for option in self.options.values())

    def parse(self, ctx: Context, text: str) -> Answer | None:
        options = [
            ChoiceOption(number, self._label(ctx, option), self._keywords(ctx, option))
            for number, option in enumerate(self.options.values(), start=1)
        ]
        index = match_choice(text, options)
        return None if index is None else Answer(list(self.options)[index])

    def choice_labels(self) -> tuple[Text, ...]:
        return tuple(option.label for option in self.options.values())

    def texts(self) -> Iterator[TextRef]:
        yield from super().texts()
        for key, option in self.options.items():
            yield TextRef(("options", key, "label"), option.label, option.translate)
            if option.keywords is not None:
                yield TextRef(
                    ("options", key, "keywords"),
                    option.keywords,
                    option.translate,
                    KEYWORDS_COMMENT,
                )
