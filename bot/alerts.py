"""On-call alerts: an urgent case nobody claims reaches the on-call workers' phones.

The worker task looks for urgent cases still open (nobody holds them, nobody closed them)
past `RELAIS_ONCALL_FIRST_ALERT_MINUTES`, alerts every address in `RELAIS_ONCALL` once,
and once more past `RELAIS_ONCALL_SECOND_ALERT_MINUTES`; never a third time. The safety
path calls `alert_now` when it opens an urgent case for a message in danger, which counts
as the first alert.

Each alert is claimed with a conditional UPDATE on `cases.alerts_sent` — the count it
read, and still open — and continues only if one row changed: any number of workers, and
the safety path, may race for a case and exactly one of them alerts. The outbox rows are
written in that same transaction, so an alert is either claimed and queued, or neither.

The texts are for the association's French-speaking workers, not for the people who write
to Relais, so they are module constants here rather than entries in a translation catalog.
An SMS to a worker's phone is not private: the texts carry the case number, its reason,
how long it has waited and the dashboard link — never the person's words or number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot import outbox
from bot.config import Settings
from bot.worker import Task
from storage.db import Database
from storage.models import Case, CaseEvent, CaseStatus, Channel, ContactAddress, Priority

log = logging.getLogger(__name__)

# How often the worker looks for cases to alert about: well under a minute, the unit of
# the delays, and cheap (one indexed query when there is nothing to do).
CHECK_EVERY_SECONDS = 30.0
# Cases alerted per pass; more wait for the next pass, 30 seconds later.
BATCH = 100

# All in GSM-7 (no "°", "ê" or curly quotes), so an SMS alert costs one segment.
# "Relais: new urgent case #12 (danger, suicide), to be taken now. <link>"
NEW_URGENT_TEXT = "Relais : nouveau cas urgent #{number} ({reason}), à prendre en charge.{link}"
# "Relais: urgent case #12 (danger, suicide) unclaimed for 15 min. <link>"
FIRST_ALERT_TEXT = (
    "Relais : cas urgent #{number} ({reason}) non pris en charge depuis {waited}.{link}"
)
# "Relais, reminder: urgent case #12 (danger, suicide) still unclaimed after 1 h 00. <link>"
SECOND_ALERT_TEXT = (
    "Relais, rappel : cas urgent #{number} ({reason}) toujours non pris en charge "
    "depuis {waited}.{link}"
)
# The dashboard page of a case, after PUBLIC_URL.
CASE_PATH = "/queue/cases/{number}"

ALERT_KIND = "alert"
# The case event that records an alert, for the case's history.
ALERTED_EVENT = "alerted"


@dataclass(frozen=True)
class _Due:
    """A case that is due an alert, as read before claiming it."""

    id: int
    alerts_sent: int
    reason: str
    category: str | None
    opened_at: datetime


def unclaimed_task(database: Database, settings: Settings) -> Task:
    """The worker task; it says once, at start, when nobody is on call."""
    if not settings.oncall:
        log.warning(
            "RELAIS_ONCALL is not set: urgent cases nobody claims will alert no one; "
            "only the dashboard queue shows them"
        )
    return Task(
        "on-call alerts",
        partial(alert_unclaimed, database, settings),
        every=CHECK_EVERY_SECONDS,
    )


def alert_unclaimed(database: Database, settings: Settings, now: datetime) -> int:
    """Alert the on-call workers about urgent cases left unclaimed; return how many cases."""
    if not settings.oncall:
        return 0
    alerted = 0
    for due in _due_cases(database, settings, now):
        # One short transaction per case: a slow batch never holds locks on many cases.
        with database.write() as session:
            if not _claim(session, due.id, due.alerts_sent, now):
                # Another worker, or the claim of a worker, got there first.
                continue
            template = FIRST_ALERT_TEXT if due.alerts_sent == 0 else SECOND_ALERT_TEXT
            text = alert_text(
                template,
                settings,
                case_id=due.id,
                reason=due.reason,
                category=due.category,
                waited=now - due.opened_at,
            )
            _queue(session, settings, due.id, text, now, alert=due.alerts_sent + 1)
        alerted += 1
    return alerted


def alert_now(session: Session, case: Case, now: datetime, *, settings: Settings) -> bool:
    """Alert on-call workers now about a case just opened, in the caller's transaction.

    It counts as the case's first alert, so the worker only sends the reminder later.
    Return False when nothing was sent: nobody is on call, or the case was already
    alerted about (a second danger message on the same open case), or it is not open.
    """
    if not settings.oncall:
        return False
    session.flush()  # the case may be new: it needs its id, and its row for the UPDATE
    if not _claim(session, case.id, 0, now):
        return False
    # The UPDATE went around the ORM: reload these from the row when next read.
    session.expire(case, ["alerts_sent", "last_alert_at"])
    text = alert_text(
        NEW_URGENT_TEXT,
        settings,
        case_id=case.id,
        reason=case.reason,
        category=case.category,
        waited=now - case.opened_at,
    )
    _queue(session, settings, case.id, text, now, alert=1)
    return True


def alert_text(
    template: str,
    settings: Settings,
    *,
    case_id: int,
    reason: str,
    category: str | None,
    waited: timedelta,
) -> str:
    """Fill an alert template: number, reason (and danger category), wait, link."""
    link = ""
    if settings.public_url:
        link = " " + settings.public_url + CASE_PATH.format(number=case_id)
    return template.format(
        number=case_id,
        reason=f"{reason}, {category}" if category else reason,
        waited=_waited(waited),
        link=link,
    )


def _due_cases(database: Database, settings: Settings, now: datetime) -> list[_Due]:
    first = timedelta(minutes=settings.oncall_first_alert_minutes)
    second = timedelta(minutes=settings.oncall_second_alert_minutes)
    query = (
        select(Case.id, Case.alerts_sent, Case.reason, Case.category, Case.opened_at)
        .where(
            Case.status == CaseStatus.OPEN,
            Case.priority == Priority.URGENT,
            or_(
                and_(Case.alerts_sent == 0, Case.opened_at <= now - first),
                and_(
                    Case.alerts_sent == 1,
                    Case.opened_at <= now - second,
                    # After a worker outage both delays may have passed at once: keep the
                    # usual spacing so the reminder does not follow the first alert 30 s
                    # later. In normal running this changes nothing.
                    or_(Case.last_alert_at.is_(None), Case.last_alert_at <= now - (second - first)),
                ),
            ),
        )
        .order_by(Case.opened_at, Case.id)
        .limit(BATCH)
    )
    with database.read() as session:
        return [_Due(*row) for row in session.execute(query).all()]


def _claim(session: Session, case_id: int, seen: int, now: datetime) -> bool:
    """Count one more alert on the case if nobody did since we read `seen`."""
    result = session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            Case.alerts_sent == seen,
            # Claimed or closed since we looked: a worker has it, no alert.
            Case.status == CaseStatus.OPEN,
            # Someone typing a danger phrase in the simulator pages nobody.
            exists().where(
                ContactAddress.contact_id == Case.contact_id,
                ContactAddress.channel != Channel.SIMULATOR,
            ),
        )
        .values(alerts_sent=Case.alerts_sent + 1, last_alert_at=now)
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount == 1


def _queue(
    session: Session, settings: Settings, case_id: int, text: str, now: datetime, *, alert: int
) -> None:
    for on_call in settings.oncall:
        outbox.enqueue_to(
            session,
            Channel(on_call.channel),
            on_call.address,
            text,
            now,
            kind=ALERT_KIND,
            priority=outbox.PRIORITY_URGENT,
            case_id=case_id,
        )
    # The history says an alert went out and to how many, not to whom: staff numbers
    # stay in the configuration.
    session.add(
        CaseEvent(
            case_id=case_id,
            kind=ALERTED_EVENT,
            data={"alert": alert, "recipients": len(settings.oncall)},
            created_at=now,
        )
    )


def _waited(delta: timedelta) -> str:
    """A wait as workers read it: "7 min", "1 h 05"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d}"
