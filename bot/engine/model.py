"""Pydantic building blocks shared by steps: texts, durations, targets, `next` rules, timeouts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from bot.engine.conditions import Condition, ConditionError, parse_condition

SLUG = r"^[a-z][a-z0-9_]*$"
TARGET = r"^(results|contact)\.[a-z][a-z0-9_]*$"
NAME_REFERENCE = r"^(results|contact)\.[a-z][a-z0-9_]*$"

_DURATION = re.compile(r"^([1-9][0-9]{0,4})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: Any) -> timedelta:
    """`30m`, `24h`, `3d` → timedelta; anything else is a ValueError."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a duration like 30m, 24h or 3d, not {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def format_duration(value: timedelta) -> str:
    """The shortest `30m` / `24h` / `3d` spelling of a duration."""
    minutes = int(value.total_seconds()) // 60
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Slug = Annotated[str, StringConstraints(pattern=SLUG)]
Target = Annotated[str, StringConstraints(pattern=TARGET)]


class Strict(BaseModel):
    """Base for flow models: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Text(Strict):
    """A translatable text: a plain string, or a plural dict `{one, other, count}`."""

    source: str
    plural: str | None = None
    count: Annotated[str, StringConstraints(pattern=NAME_REFERENCE)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, value: Any) -> Any:
        if isinstance(value, Text):
            return value
        if isinstance(value, str):
            return {"source": value}
        if isinstance(value, dict) and "source" not in value:
            keys = set(value)
            if keys != {"one", "other", "count"}:
                raise ValueError(
                    "expected a text, or a plural dict with exactly one, other and count"
                )
            return {"source": value["one"], "plural": value["other"], "count": value["count"]}
        if isinstance(value, dict):
            return value
        raise ValueError(f"expected a text, not {type(value).__name__}")


def _parse_when(value: Any) -> Any:
    if isinstance(value, Condition) or value is None:
        return value
    if isinstance(value, bool):
        # YAML reads `when: yes` as a boolean; an author almost certainly meant a condition.
        raise ValueError("a condition, not a boolean, is expected (quote it)")
    try:
        return parse_condition(str(value))
    except ConditionError as error:
        raise ValueError(f"bad condition {value!r}: {error}") from error


When = Annotated[Condition | None, BeforeValidator(_parse_when)]


@dataclass(frozen=True)
class Expression:
    """A value computed in the condition language: `{expr: "results.a + results.b"}`."""

    condition: Condition

    @property
    def source(self) -> str:
        """The expression as written."""
        return self.condition.source

    def evaluate(self, lookup: Callable[[str], Any]) -> Any:
        """The expression's value (a missing name is none; a total of non-numbers is none)."""
        return self.condition.value(lookup)


def parse_expression(value: Any) -> Expression:
    """`{expr: "…"}` → Expression; anything else is a ValueError with a readable message."""
    if not isinstance(value, dict) or set(value) != {"expr"}:
        raise ValueError('a computed value is written {expr: "results.a + results.b"}')
    source = value["expr"]
    if not isinstance(source, str | int | float) or isinstance(source, bool):
        raise ValueError("expr: an expression is expected (quote it)")
    try:
        return Expression(parse_condition(str(source)))
    except ConditionError as error:
        raise ValueError(f"bad expression {source!r}: {error}") from error


class NextRule(Strict):
    """One `next` entry: go to `goto` when `when` holds (no `when`: always)."""

    when: When = None
    goto: Slug


def _parse_next(value: Any) -> Any:
    # `next: step` is the one-rule shorthand of `next: [{goto: step}]`.
    return [{"goto": value}] if isinstance(value, str) else value


Next = Annotated[list[NextRule], BeforeValidator(_parse_next), Field(min_length=1)]


class Timeout(Strict):
    """A timeout of an ask step: after a while, `say` something or `goto` another step."""

    after: Duration
    say: Text | None = None
    goto: Slug | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Timeout:
        if (self.say is None) == (self.goto is None):
            raise ValueError("a timeout needs exactly one of say or goto")
        return self
