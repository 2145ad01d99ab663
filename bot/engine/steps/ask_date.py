"""ask_date: waits for a date (`25/12`, `25/12/2026`, `today`…); saves ISO `YYYY-MM-DD`.

```yaml
left_on:
  ask_date: On what date did you leave? (for example 25/12)
  past: true
  save: results.left_on
  next: sleep_tonight
```
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from bot.engine.answers import parse_date
from bot.engine.context import Context
from bot.engine.defaults import INVALID_DATE, INVALID_DATE_FUTURE, INVALID_DATE_PAST
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep


@register
class AskDate(AskStep):
    """Waits for a date; `past` / `future` allow only today and before / after."""

    TYPE: ClassVar[str] = "ask_date"
    DEFAULT_INVALID: ClassVar[str] = INVALID_DATE
    ask_date: Text
    past: bool = False
    future: bool = False

    @model_validator(mode="after")
    def _one_direction(self) -> AskDate:
        if self.past and self.future:
            raise ValueError("a date cannot be restricted to both past and future")
        return self

    def parse(self, ctx: Context, text: str) -> Answer | None:
        # "today", "demain", "25/12" are said on the person's clock, not the server's.
        today = ctx.local_now.date()
        value = parse_date(text, ctx.language, today)
        if value is None or (self.past and value > today) or (self.future and value < today):
            return None
        return Answer(value.isoformat())

    def default_invalid(self) -> str:
        if self.past:
            return INVALID_DATE_PAST
        if self.future:
            return INVALID_DATE_FUTURE
        return INVALID_DATE
