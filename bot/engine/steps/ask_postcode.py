"""ask_postcode: waits for a French postcode (5 digits; `2A`/`2B` for Corsica).

```yaml
postcode:
  ask_postcode: What is your postcode?
  save: contact.postcode
  next: contact_pref
```
"""

from __future__ import annotations

from typing import ClassVar

from bot.engine.answers import parse_postcode
from bot.engine.context import Context
from bot.engine.defaults import INVALID_POSTCODE
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep


@register
class AskPostcode(AskStep):
    """Waits for a French postcode; saves it as a string."""

    TYPE: ClassVar[str] = "ask_postcode"
    DEFAULT_INVALID: ClassVar[str] = INVALID_POSTCODE
    ask_postcode: Text

    def parse(self, ctx: Context, text: str) -> Answer | None:
        value = parse_postcode(text)
        return None if value is None else Answer(value)
