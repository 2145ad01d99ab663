"""ask_phone: waits for a phone number; saves it in E.164 (`06 39 98 12 34` → `+33639981234`).

```yaml
callback_number:
  ask_phone: Which number should we call you on?
  save: contact.callback_phone
  next: best_time
```
"""

from __future__ import annotations

from typing import ClassVar

from bot.engine.answers import parse_phone
from bot.engine.context import Context
from bot.engine.defaults import INVALID_PHONE
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep


@register
class AskPhone(AskStep):
    """Waits for a phone number (French by default); saves E.164."""

    TYPE: ClassVar[str] = "ask_phone"
    DEFAULT_INVALID: ClassVar[str] = INVALID_PHONE
    ask_phone: Text

    def parse(self, ctx: Context, text: str) -> Answer | None:
        value = parse_phone(text)
        return None if value is None else Answer(value)
