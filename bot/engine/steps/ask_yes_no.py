"""ask_yes_no: waits for yes or no in the person's language; saves true or false.

```yaml
want_call:
  ask_yes_no: Would you like someone from the association to call you?
  save: results.wants_call
  next:
    - when: results.wants_call
      goto: call_case
    - goto: goodbye
```
"""

from __future__ import annotations

from typing import ClassVar

from bot.engine.answers import parse_yes_no
from bot.engine.context import Context
from bot.engine.defaults import INVALID_YES_NO
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep


@register
class AskYesNo(AskStep):
    """Waits for yes or no; saves a boolean."""

    TYPE: ClassVar[str] = "ask_yes_no"
    DEFAULT_INVALID: ClassVar[str] = INVALID_YES_NO
    ask_yes_no: Text

    def parse(self, ctx: Context, text: str) -> Answer | None:
        value = parse_yes_no(text, ctx.language)
        return None if value is None else Answer(value)
