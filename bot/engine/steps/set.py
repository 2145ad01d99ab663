"""set: saves values in the results or on the person's record.

```yaml
mark_vae:
  set:
    results.track: vae
    contact.first_name: "{results.nickname}"
  next: vae_job
```
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from bot.engine.context import Context
from bot.engine.model import Target
from bot.engine.steps import register
from bot.engine.steps.base import Jump, Step

# A value as written, or a template string; `"{results.x}"` alone copies x with its type.
Value = str | int | float | bool | None


@register
class Set(Step):
    """Saves values (templates allowed) to `results.<x>` or `contact.<x>`."""

    TYPE: ClassVar[str] = "set"
    set: Annotated[dict[Target, Value], Field(min_length=1)]

    def run(self, ctx: Context) -> Jump:
        for target, value in self.set.items():
            ctx.save(target, ctx.value_of(value), self.name)
        return self.follow(ctx)
