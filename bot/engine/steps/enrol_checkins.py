"""enrol_checkins: enrols the person in weekly check-ins on a weekday at a local time.

```yaml
enrol:
  enrol_checkins:
    weekday: "{results.checkin_day}"
    time: "10:00"
  next: enrolled
```
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import field_validator

from bot.engine.context import Context, StepFailure
from bot.engine.events import CheckinsEnrolled
from bot.engine.model import Strict
from bot.engine.steps import register
from bot.engine.steps.base import Jump, Step

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _check_weekday(value: str) -> str | None:
    return None if value in WEEKDAYS else f"not a weekday: {value!r} (monday … sunday)"


def _check_time(value: str) -> str | None:
    return None if TIME.match(value) else f"not a time: {value!r} (HH:MM, e.g. 10:00)"


class Schedule(Strict):
    """Weekday (monday … sunday) and local time (HH:MM); templates are checked when run."""

    weekday: str
    time: str

    @field_validator("weekday")
    @classmethod
    def _weekday(cls, value: str) -> str:
        problem = None if "{" in value else _check_weekday(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        problem = None if "{" in value else _check_time(value)
        if problem:
            raise ValueError(problem)
        return value


@register
class EnrolCheckins(Step):
    """Enrols the person in weekly check-ins."""

    TYPE: ClassVar[str] = "enrol_checkins"
    enrol_checkins: Schedule

    def run(self, ctx: Context) -> Jump:
        weekday = ctx.fill(self.enrol_checkins.weekday)
        time = ctx.fill(self.enrol_checkins.time)
        problem = _check_weekday(weekday) or _check_time(time)
        if problem:
            raise StepFailure(problem)
        ctx.emit(CheckinsEnrolled(weekday, time))
        return self.follow(ctx)
