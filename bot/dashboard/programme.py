"""The check-in programme in numbers: enrolled, sent, answered, missed, escalated.

Counted in the database by week, language and channel, then folded here: a week is the
Monday a check-in belongs to (`Checkin.week_start`, in the person's timezone); an
escalation is a "no news" case, counted in the week it was opened, in the association's
timezone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.checkins import NO_NEWS_REASON
from bot.schedule import week_start
from storage.models import Case, Checkin, CheckinEnrolment, CheckinStatus, EnrolmentStatus

# Check-ins that went out that week: the ones skipped never reached the person.
_SENT = (
    CheckinStatus.SENT,
    CheckinStatus.ANSWERED,
    CheckinStatus.MISSED,
    CheckinStatus.UNDELIVERED,
)


@dataclass(frozen=True)
class Numbers:
    """The programme's counts for one slice (a week, a language, a channel, or all)."""

    enrolled: int = 0
    sent: int = 0
    answered: int = 0
    missed: int = 0
    escalated: int = 0

    def __add__(self, other: Numbers) -> Numbers:
        return Numbers(
            self.enrolled + other.enrolled,
            self.sent + other.sent,
            self.answered + other.answered,
            self.missed + other.missed,
            self.escalated + other.escalated,
        )


@dataclass(frozen=True)
class Programme:
    """This week's numbers by language and by channel, and the last weeks' totals."""

    week: date
    total: Numbers
    by_language: dict[str, Numbers]
    by_channel: dict[str, Numbers]
    # Oldest first, ending with `week`.
    weeks: list[tuple[date, Numbers]] = field(default_factory=list)
    paused: int = 0


def programme(session: Session, now: datetime, timezone: str, *, weeks: int = 8) -> Programme:
    """The numbers for the week of `now` and the `weeks` weeks ending with it."""
    this_week = week_start(now, timezone)
    first = this_week - timedelta(weeks=weeks - 1)
    slices: dict[tuple[date, str, str], Numbers] = defaultdict(Numbers)
    for key, numbers in _checkins(session, first):
        slices[key] += numbers
    for key, numbers in _escalations(session, first, timezone):
        slices[key] += numbers

    by_language: dict[str, Numbers] = defaultdict(Numbers)
    by_channel: dict[str, Numbers] = defaultdict(Numbers)
    paused = 0
    for (language, channel, status), count in _enrolments(session):
        if status == EnrolmentStatus.ACTIVE:
            by_language[language] += Numbers(enrolled=count)
            by_channel[channel] += Numbers(enrolled=count)
        elif status == EnrolmentStatus.PAUSED:
            paused += count
    per_week: dict[date, Numbers] = defaultdict(Numbers)
    for (week, language, channel), numbers in slices.items():
        per_week[week] += numbers
        if week == this_week:
            by_language[language] += numbers
            by_channel[channel] += numbers
    paused = sum(count for (_l, _c, status), count in _enrolments(session) if status == "paused")
    total = _sum(by_language.values())
    history = [
        (first + timedelta(weeks=i), per_week[first + timedelta(weeks=i)]) for i in range(weeks)
    ]
    # The enrolled count is today's: the database keeps no past head-counts.
    history[-1] = (this_week, replace(history[-1][1], enrolled=total.enrolled))
    return Programme(
        week=this_week,
        total=total,
        by_language=dict(sorted(by_language.items())),
        by_channel=dict(sorted(by_channel.items())),
        weeks=history,
        paused=paused,
    )


def _sum(numbers: Iterable[Numbers]) -> Numbers:
    total = Numbers()
    for item in numbers:
        total += item
    return total


def _enrolments(session: Session) -> Sequence[tuple[tuple[str, str, str], int]]:
    rows = session.execute(
        select(
            CheckinEnrolment.language,
            CheckinEnrolment.channel,
            CheckinEnrolment.status,
            func.count(),
        ).group_by(CheckinEnrolment.language, CheckinEnrolment.channel, CheckinEnrolment.status)
    ).tuples()
    return [((language, channel, status), count) for language, channel, status, count in rows]


def _checkins(session: Session, first: date) -> Iterable[tuple[tuple[date, str, str], Numbers]]:
    rows = session.execute(
        select(
            Checkin.week_start,
            CheckinEnrolment.language,
            CheckinEnrolment.channel,
            Checkin.status,
            func.count(),
        )
        .join(CheckinEnrolment, CheckinEnrolment.id == Checkin.enrolment_id)
        .where(Checkin.week_start >= first)
        .group_by(
            Checkin.week_start,
            CheckinEnrolment.language,
            CheckinEnrolment.channel,
            Checkin.status,
        )
    ).tuples()
    for week, language, channel, status, count in rows:
        yield (
            (week, language, channel),
            Numbers(
                sent=count if status in _SENT else 0,
                answered=count if status == CheckinStatus.ANSWERED else 0,
                missed=count if status == CheckinStatus.MISSED else 0,
            ),
        )


def _escalations(
    session: Session, first: date, timezone: str
) -> Iterable[tuple[tuple[date, str, str], Numbers]]:
    since = datetime.combine(first, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    rows = session.execute(
        select(Case.opened_at, CheckinEnrolment.language, CheckinEnrolment.channel)
        .join(CheckinEnrolment, CheckinEnrolment.contact_id == Case.contact_id)
        .where(Case.reason == NO_NEWS_REASON, Case.opened_at >= since)
    ).tuples()
    for opened_at, language, channel in rows:
        yield (week_start(opened_at, timezone), language, channel), Numbers(escalated=1)
