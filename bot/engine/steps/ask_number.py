"""ask_number: waits for a whole number, optionally between `min` and `max`.

```yaml
children:
  ask_number: How many children live with you?
  min: 0
  max: 20
  save: results.children
  next: sleep_tonight
```
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from bot.engine.answers import parse_int
from bot.engine.context import Context
from bot.engine.defaults import INVALID_NUMBER, INVALID_NUMBER_BETWEEN
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep


def check_bounds(low: int | None, high: int | None) -> None:
    """Reject a `min` above `max`."""
    if low is not None and high is not None and low > high:
        raise ValueError("min must not be greater than max")


def within(value: int, low: int | None, high: int | None) -> bool:
    """True when `value` is inside the optional bounds."""
    return (low is None or value >= low) and (high is None or value <= high)


@register
class AskNumber(AskStep):
    """Waits for a whole number; saves an int."""

    TYPE: ClassVar[str] = "ask_number"
    DEFAULT_INVALID: ClassVar[str] = INVALID_NUMBER
    ask_number: Text
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _bounds(self) -> AskNumber:
        check_bounds(self.min, self.max)
        return self

    def parse(self, ctx: Context, text: str) -> Answer | None:
        value = parse_int(text)
        if value is None or not within(value, self.min, self.max):
            return None
        return Answer(value)

    def default_invalid(self) -> str:
        both = self.min is not None and self.max is not None
        return INVALID_NUMBER_BETWEEN if both else INVALID_NUMBER

    def limits(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max}
