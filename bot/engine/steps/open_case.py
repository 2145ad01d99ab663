"""open_case: asks for a person: a case for a worker queue.

```yaml
call_case:
  open_case:
    queue: checkins
    priority: high
    reason: asked_for_person
    summary: "{first_name} asked for a call during the weekly check-in."
  next: goodbye
```
"""

from __future__ import annotations

from typing import ClassVar, Literal

from bot.engine.context import Context
from bot.engine.events import CaseRequested
from bot.engine.model import Slug, Strict
from bot.engine.steps import register
from bot.engine.steps.base import Jump, Step


class CaseSpec(Strict):
    """Where the case goes and what the worker reads first."""

    queue: Slug
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    reason: Slug
    # For workers, not the person: placeholders are filled, the text is not translated.
    summary: str = ""


@register
class OpenCase(Step):
    """Requests a case in a worker queue."""

    TYPE: ClassVar[str] = "open_case"
    open_case: CaseSpec

    def run(self, ctx: Context) -> Jump:
        spec = self.open_case
        ctx.emit(CaseRequested(spec.queue, spec.priority, spec.reason, ctx.fill(spec.summary)))
        return self.follow(ctx)
