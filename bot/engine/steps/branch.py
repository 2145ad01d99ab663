"""branch: goes to the first `next` entry whose `when` holds.

```yaml
route:
  branch: {}
  next:
    - when: results.age_bracket == "under_15"
      goto: under_15
    - when: results.situation in ["left_prison", "left_hospital"]
      goto: leaving
    - goto: isolated
```
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import field_validator

from bot.engine.context import Context
from bot.engine.steps import register
from bot.engine.steps.base import Jump, Step


@register
class Branch(Step):
    """Goes to the first `next` entry whose condition holds."""

    TYPE: ClassVar[str] = "branch"
    branch: dict[str, Any] | None = None

    @field_validator("branch")
    @classmethod
    def _empty(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            raise ValueError("branch takes no settings: write `branch: {}` and use next")
        return value

    def run(self, ctx: Context) -> Jump:
        return self.follow(ctx)
