"""ask_text: waits for free text.

```yaml
situation:
  ask_text: In a few words, what is happening for you at the moment?
  max_length: 500
  save: results.situation_words
  next: category
```
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bot.engine.context import Context
from bot.engine.defaults import INVALID_TEXT
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.base import Answer, AskStep


@register
class AskText(AskStep):
    """Waits for free text of at most `max_length` characters."""

    TYPE: ClassVar[str] = "ask_text"
    DEFAULT_INVALID: ClassVar[str] = INVALID_TEXT
    ask_text: Text
    max_length: int = Field(default=500, ge=1, le=5000)

    def parse(self, ctx: Context, text: str) -> Answer | None:
        answer = " ".join(text.split())
        if not answer or len(answer) > self.max_length:
            return None
        return Answer(answer)
