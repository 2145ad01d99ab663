"""How long a case may wait: minutes for urgent ones, working days for normal ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import cases
from storage.models import Priority

PARIS = "Europe/Paris"
# A Wednesday at 10:00 in Paris (winter time).
WEDNESDAY = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_default_levels_are_15_minutes_4_hours_and_2_working_days() -> None:
    levels = cases.service_levels({})
    assert levels.due_at(Priority.URGENT, WEDNESDAY, PARIS) == WEDNESDAY + timedelta(minutes=15)
    assert levels.due_at(Priority.HIGH, WEDNESDAY, PARIS) == WEDNESDAY + timedelta(hours=4)
    assert levels.due_at(Priority.NORMAL, WEDNESDAY, PARIS) == WEDNESDAY + timedelta(days=2)
    assert levels.due_at(Priority.LOW, WEDNESDAY, PARIS) is None


def test_working_days_skip_the_weekend() -> None:
    friday_5pm = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    due = cases.service_levels({}).due_at(Priority.NORMAL, friday_5pm, PARIS)
    assert due == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # the Tuesday, 17:00 in Paris


def test_a_case_opened_at_the_weekend_starts_its_clock_on_monday() -> None:
    saturday = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    due = cases.service_levels({}).due_at(Priority.NORMAL, saturday, PARIS)
    assert due is not None
    assert due.astimezone(ZoneInfo(PARIS)) == datetime(2026, 12, 2, 0, 0, tzinfo=ZoneInfo(PARIS))


def test_working_days_keep_the_wall_clock_time_across_daylight_saving() -> None:
    friday = datetime(2026, 10, 23, 8, 0, tzinfo=UTC)  # 10:00 in Paris, summer time
    due = cases.service_levels({}).due_at(Priority.NORMAL, friday, PARIS)
    assert due is not None
    assert due.astimezone(ZoneInfo(PARIS)).hour == 10  # Tuesday 10:00, winter time


def test_levels_are_read_from_the_app_config() -> None:
    levels = cases.service_levels(
        {
            "RELAIS_SLA_URGENT_MINUTES": "5",
            "RELAIS_SLA_HIGH_MINUTES": 60,
            "RELAIS_SLA_NORMAL_WORKING_DAYS": 0,
            "RELAIS_SLA_LOW_WORKING_DAYS": 10,
        }
    )
    assert levels.due_at(Priority.URGENT, WEDNESDAY, PARIS) == WEDNESDAY + timedelta(minutes=5)
    assert levels.due_at(Priority.HIGH, WEDNESDAY, PARIS) == WEDNESDAY + timedelta(hours=1)
    assert levels.due_at(Priority.NORMAL, WEDNESDAY, PARIS) is None
    assert levels.due_at(Priority.LOW, WEDNESDAY, PARIS) == WEDNESDAY + timedelta(days=14)


def test_a_negative_level_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="RELAIS_SLA_URGENT_MINUTES"):
        cases.service_levels({"RELAIS_SLA_URGENT_MINUTES": -1})
