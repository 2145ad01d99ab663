"""When a weekly check-in is due: the person's weekday and time, in their timezone.

Pure functions of the slot, the time and a random source. Local times are turned into
UTC through zoneinfo, so the slot stays at the same local hour across daylight-saving
changes. A little jitter spreads a thousand people who chose 10:00 over a quarter of an
hour, without ever moving a slot into the quiet hours the person did not choose.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Check-ins are for the daytime on weekdays and Saturdays, unless the person chose otherwise.
DAY_STARTS = time(9, 0)
DAY_ENDS = time(20, 0)
SUNDAY = 6
JITTER_MINUTES = 15


@dataclass(frozen=True)
class Slot:
    """A weekly slot: weekday (0 = Monday), minutes after local midnight, timezone."""

    weekday: int
    minute_of_day: int
    timezone: str

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0-6, not {self.weekday}")
        if not 0 <= self.minute_of_day < 24 * 60:
            raise ValueError(f"minute_of_day must be 0-1439, not {self.minute_of_day}")

    @property
    def local_time(self) -> time:
        return time(self.minute_of_day // 60, self.minute_of_day % 60)

    @property
    def in_quiet_hours(self) -> bool:
        """The person chose a Sunday, or a time before 09:00 or from 20:00."""
        return self.weekday == SUNDAY or self.local_time < DAY_STARTS or self.local_time >= DAY_ENDS


def week_start(moment: datetime, timezone: str) -> date:
    """The Monday of the week `moment` falls in, in the person's timezone."""
    local = moment.astimezone(ZoneInfo(timezone)).date()
    return local - timedelta(days=local.weekday())


def next_due(slot: Slot, after: datetime, rng: random.Random | None = None) -> datetime:
    """The first slot strictly after `after` (in a later week than `after`'s, if the slot
    of `after`'s week is already past), with jitter, in UTC."""
    zone = ZoneInfo(slot.timezone)
    local_after = after.astimezone(zone)
    days_ahead = (slot.weekday - local_after.weekday()) % 7
    day = local_after.date() + timedelta(days=days_ahead)
    candidate = _at(day, slot, zone, rng)
    if candidate <= after:
        candidate = _at(day + timedelta(days=7), slot, zone, rng)
    return candidate


def _at(day: date, slot: Slot, zone: ZoneInfo, rng: random.Random | None) -> datetime:
    local = datetime.combine(day, slot.local_time, tzinfo=zone)
    jitter = (rng or random).randint(0, JITTER_MINUTES * 60)
    jittered = local + timedelta(seconds=jitter)
    # Jitter only ever delays, so it cannot cross 09:00 backwards; it must not cross
    # 20:00 or midnight forwards into hours the person did not choose.
    if not slot.in_quiet_hours and (jittered.time() >= DAY_ENDS or jittered.date() != day):
        jittered = local
    # Aware arithmetic in zoneinfo is wall-clock: normalise through UTC.
    return jittered.astimezone(UTC)
