"""start_flow: starts another flow; with `then`, this flow goes on there when it ends.

```yaml
vae:
  start_flow: vae_intake
  then: anything_else     # without then, this flow ends and vae_intake takes over
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import model_validator

from bot.engine.context import Context
from bot.engine.model import Slug
from bot.engine.steps import register
from bot.engine.steps.base import EnterFlow, Jump, Path, Step


@register
class StartFlow(Step):
    """Starts another flow, as a sub-flow (`then`) or instead of this one."""

    TYPE: ClassVar[str] = "start_flow"
    start_flow: Slug
    then: Slug | None = None

    @model_validator(mode="after")
    def _then_not_next(self) -> StartFlow:
        if self.next is not None:
            raise ValueError("start_flow continues with `then`, not `next`")
        return self

    def run(self, ctx: Context) -> Jump:
        return EnterFlow(self.start_flow, self.then)

    def needs_next(self) -> bool:
        return False

    def targets(self) -> Iterator[tuple[Path, str]]:
        if self.then is not None:
            yield ("then",), self.then
