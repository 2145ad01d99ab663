"""say: sends a message and goes on.

```yaml
welcome:
  say: Hello {first_name}, this is Relais.
  next: ask_name
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from bot.engine.context import Context
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Jump, Step, TextRef


@register
class Say(Step):
    """Sends a message, goes on."""

    TYPE: ClassVar[str] = "say"
    say: Text

    def run(self, ctx: Context) -> Jump:
        ctx.send(self.say, self.name)
        return self.follow(ctx)

    def texts(self) -> Iterator[TextRef]:
        yield TextRef(("say",), self.say)
