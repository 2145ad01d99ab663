"""set: saves values in the results or on the person's record, in the order written.

```yaml
mark_vae:
  set:
    results.track: vae
    contact.first_name: "{results.nickname}"
    results.total: {expr: "results.a + results.b"}
  next: vae_job
```
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, PlainValidator

from bot.engine.context import Context
from bot.engine.model import Expression, Target, parse_expression
from bot.engine.steps import register
from bot.engine.steps.base import Jump, Step


def _value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | Expression):
        return value
    if isinstance(value, dict):
        return parse_expression(value)
    raise ValueError(
        'expected a value, a template ("{results.x}") or an expression ({expr: "…"}), '
        f"not a {type(value).__name__}"
    )


# A value as written, a template string (`"{results.x}"` alone copies x with its type), or
# an expression of the condition language, computed when the step runs.
Value = Annotated[str | int | float | bool | Expression | None, PlainValidator(_value)]


@register
class Set(Step):
    """Saves values (templates, expressions allowed) to `results.<x>` or `contact.<x>`."""

    TYPE: ClassVar[str] = "set"
    set: Annotated[dict[Target, Value], Field(min_length=1)]

    def run(self, ctx: Context) -> Jump:
        for target, value in self.set.items():
            ctx.save(target, ctx.value_of(value), self.name)
        return self.follow(ctx)
