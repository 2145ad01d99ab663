"""ask_range: waits for a number or a range (`2-3`, `2 à 3`) and saves `{min, max}`.

```yaml
experience_years:
  ask_range: Roughly how many years of experience do you have? (for example 2-3)
  min: 0
  max: 60
  save: results.experience_years
  next: diploma
```
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from bot.engine.answers import parse_int, parse_range
from bot.engine.context import Context
from bot.engine.defaults import INVALID_RANGE
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.ask_number import check_bounds, within
from bot.engine.steps.base import Answer, AskStep


@register
class AskRange(AskStep):
    """Waits for a number or a range; saves `{"min": a, "max": b}` (a single number: a == b)."""

    TYPE: ClassVar[str] = "ask_range"
    DEFAULT_INVALID: ClassVar[str] = INVALID_RANGE
    ask_range: Text
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _bounds(self) -> AskRange:
        check_bounds(self.min, self.max)
        return self

    def parse(self, ctx: Context, text: str) -> Answer | None:
        bounds = parse_range(text)
        if bounds is None:
            single = parse_int(text)
            bounds = None if single is None else (single, single)
        if bounds is None:
            return None
        low, high = sorted(bounds)
        if not (within(low, self.min, self.max) and within(high, self.min, self.max)):
            return None
        return Answer({"min": low, "max": high})

    def limits(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max}
