"""end: ends the flow with an outcome (`completed` when empty).

```yaml
missed:
  end: missed
```
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from bot.engine.context import Context
from bot.engine.model import Slug
from bot.engine.steps import register
from bot.engine.steps.base import EndFlow, Jump, Step


@register
class End(Step):
    """Ends the flow; the run ends with this outcome unless a parent flow goes on."""

    TYPE: ClassVar[str] = "end"
    end: Slug | None = None

    @model_validator(mode="after")
    def _no_next(self) -> End:
        if self.next is not None:
            raise ValueError("an end step has no next")
        return self

    def run(self, ctx: Context) -> Jump:
        return EndFlow(self.end or "completed")

    def needs_next(self) -> bool:
        return False
