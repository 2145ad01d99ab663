"""ask_text: waits for free text; `skip_keywords` lets the person say there is nothing to add.

```yaml
anything_else:
  ask_text: Is there anything you want to tell us? Write it here, or reply NO.
  skip_keywords: "no, nothing, no thanks"
  max_length: 500
  save: results.message
  next: signals
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pydantic import Field, field_validator

from bot.engine.answers import FALLBACK_LANGUAGES, made_of_phrases
from bot.engine.context import Context
from bot.engine.defaults import INVALID_TEXT
from bot.engine.model import Text
from bot.engine.steps import register
from bot.engine.steps.ask_choice import KEYWORD_SEPARATORS
from bot.engine.steps.base import Answer, AskStep, TextRef

SKIP_KEYWORDS_COMMENT = (
    "Comma-separated words or short phrases meaning there is nothing to add; an answer made "
    "only of them is skipped."
)


@register
class AskText(AskStep):
    """Waits for free text of at most `max_length` characters; a skip saves ""."""

    TYPE: ClassVar[str] = "ask_text"
    DEFAULT_INVALID: ClassVar[str] = INVALID_TEXT
    ask_text: Text
    max_length: int = Field(default=500, ge=1, le=5000)
    skip_keywords: Text | None = None

    @field_validator("skip_keywords")
    @classmethod
    def _not_plural(cls, value: Text | None) -> Text | None:
        if value is not None and value.plural is not None:
            raise ValueError("skip_keywords is one comma-separated text, not a plural")
        return value

    def _skip_phrases(self, ctx: Context) -> list[str]:
        # The person's language first, then French and English (like yes and no): someone
        # writing in Dari on a Latin keyboard may well answer "no".
        if self.skip_keywords is None:
            return []
        languages = dict.fromkeys((ctx.language, *FALLBACK_LANGUAGES))
        lists = (
            ctx.translations.translator(language).gettext(self.skip_keywords.source)
            for language in languages
        )
        return [word for words in lists for word in KEYWORD_SEPARATORS.split(words)]

    def parse(self, ctx: Context, text: str) -> Answer | None:
        answer = " ".join(text.split())
        if made_of_phrases(answer, self._skip_phrases(ctx)):
            return Answer("")
        if not answer or len(answer) > self.max_length:
            return None
        return Answer(answer)

    def texts(self) -> Iterator[TextRef]:
        yield from super().texts()
        if self.skip_keywords is not None:
            yield TextRef(("skip_keywords",), self.skip_keywords, True, SKIP_KEYWORDS_COMMENT)
