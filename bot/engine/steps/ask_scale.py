"""ask_scale: waits for a number on a scale from `from` to `to`, with optional end labels.

```yaml
cheerful:
  ask_scale: Over the last two weeks, I have felt cheerful and in good spirits.
  from: 0
  to: 5
  labels:
    0: At no time
    5: All of the time
  save: results.who5_cheerful
  next: calm
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field, model_validator

from bot.engine.answers import parse_int
from bot.engine.context import Context
from bot.engine.defaults import INVALID_SCALE
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep, TextRef


@register
class AskScale(AskStep):
    """Waits for a whole number from `from` to `to` inclusive; saves an int."""

    TYPE: ClassVar[str] = "ask_scale"
    DEFAULT_INVALID: ClassVar[str] = INVALID_SCALE
    ask_scale: Text
    low: int = Field(alias="from")
    high: int = Field(alias="to")
    labels: dict[int, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _labels_on_scale(self) -> AskScale:
        if self.low >= self.high:
            raise ValueError("`from` must be less than `to`")
        outside = [number for number in self.labels if not self.low <= number <= self.high]
        if outside:
            raise ValueError(f"labels outside the scale: {outside}")
        return self

    def prompt(self, ctx: Context, text: Text | None = None) -> None:
        # The end labels travel with the question so the person knows which way the scale goes.
        lines = "".join(
            f"\n{number} = {ctx.render(label)}" for number, label in sorted(self.labels.items())
        )
        ctx.send(text or self.question(), self.name, (), suffix=lines)

    def parse(self, ctx: Context, text: str) -> Answer | None:
        value = parse_int(text)
        if value is None or not self.low <= value <= self.high:
            return None
        return Answer(value)

    def limits(self) -> dict[str, Any]:
        return {"from": self.low, "to": self.high}

    def choice_labels(self) -> tuple[Text, ...]:
        return tuple(label for _, label in sorted(self.labels.items()))

    def texts(self) -> Iterator[TextRef]:
        yield from super().texts()
        for number, label in sorted(self.labels.items()):
            yield TextRef(("labels", number), label)
