"""set_language: changes the person's language (every following text uses it).

```yaml
apply_language:
  set_language: "{results.language}"
  next: welcome
```
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from bot.engine.context import LANGUAGE_CODE, Context
from bot.engine.steps import register
from bot.engine.steps.base import Jump, Step


@register
class SetLanguage(Step):
    """Changes the person's language to a code or the value of a `{placeholder}`."""

    TYPE: ClassVar[str] = "set_language"
    set_language: str

    @field_validator("set_language")
    @classmethod
    def _code_or_template(cls, value: str) -> str:
        if "{" not in value and not LANGUAGE_CODE.match(value):
            raise ValueError(f"not a language code: {value!r} (e.g. fr, ar, fa_AF)")
        return value

    def run(self, ctx: Context) -> Jump:
        ctx.change_language(ctx.value_of(self.set_language))
        return self.follow(ctx)
