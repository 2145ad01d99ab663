"""Weekly check-ins: start them in each person's slot, and treat silence as a signal.

The worker's scheduler claims due enrolments under a lease and starts `weekly_checkin`
for each. A unique (enrolment, week) row makes "one check-in per person per week" a
database fact, however many workers tick at once. When the run ends, its outcome is
recorded: answered resets the count of missed weeks, a second missed week in a row opens
a "no news" case so that someone calls.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy.exc
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot import fanout, outbox
from bot.conversation import ConversationService, active_conversation, held_case
from bot.effects import request_case
from bot.schedule import Slot, next_due, week_start
from storage.models import (
    Channel,
    Checkin,
    CheckinEnrolment,
    CheckinStatus,
    Contact,
    ContactAddress,
    Conversation,
    EnrolmentStatus,
    Priority,
)

log = logging.getLogger(__name__)

CHECKIN_FLOW = fanout.CHECKIN_FLOW
LEASE = timedelta(minutes=5)
# Someone busy with another conversation is tried again a little later, same week.
BUSY_RETRY = timedelta(hours=2)
NO_NEWS_AFTER = 2  # missed weeks in a row before someone should call
NO_NEWS_REASON = "no_news"


def slot_of(enrolment: CheckinEnrolment) -> Slot:
    return Slot(enrolment.weekday, enrolment.minute_of_day, enrolment.timezone)


def schedule(
    enrolment: CheckinEnrolment, after: datetime, rng: random.Random | None = None
) -> None:
    """Set the enrolment's next check-in to its first slot after `after`."""
    enrolment.next_due_at = next_due(slot_of(enrolment), after, rng)


def set_status(enrolment: CheckinEnrolment, status: EnrolmentStatus, now: datetime) -> None:
    """The one rule for a status change, whoever asks (the person, a worker).

    Active: planned from the next slot, and weeks missed while paused are not owed nor
    counted as silence. Paused or stopped: nothing planned (`next_due_at` empty), so no
    page shows a next check-in beside "paused".
    """
    enrolment.status = status
    enrolment.updated_at = now
    enrolment.claimed_until = None
    if status == EnrolmentStatus.ACTIVE:
        enrolment.consecutive_missed = 0
        schedule(enrolment, now)
    else:
        enrolment.next_due_at = None


def tick(service: ConversationService, now: datetime, *, limit: int = 500) -> int:
    """One scheduler pass: start every check-in that is due; return how many were handled."""
    handled = 0
    while True:
        ids = _claim(service, now, limit)
        try:
            one_by_one = fanout.start_batch(service, ids, now, busy_retry=BUSY_RETRY)
        except sqlalchemy.exc.IntegrityError:
            # A lease expired under us and another worker started some of these: let the
            # careful path sort out who got which.
            log.warning("check-in batch collided with another worker; going one by one")
            one_by_one = ids
        for enrolment_id in one_by_one:
            try:
                start_checkin(service, enrolment_id, now)
            except Exception:
                # The lease expires and another pass retries; never lose the others.
                log.exception("check-in for enrolment %s failed", enrolment_id)
        handled += len(ids)
        if len(ids) < limit:
            return handled


def _claim(service: ConversationService, now: datetime, limit: int) -> list[int]:
    database = service.database
    with database.write() as session:
        query = (
            select(CheckinEnrolment.id)
            .where(
                CheckinEnrolment.status == EnrolmentStatus.ACTIVE,
                CheckinEnrolment.next_due_at <= now,
                # A trainer who enrolled in the simulator gets no real weekly check-ins.
                CheckinEnrolment.channel != Channel.SIMULATOR,
                or_(
                    CheckinEnrolment.claimed_until.is_(None),
                    CheckinEnrolment.claimed_until < now,
                ),
            )
            .order_by(CheckinEnrolment.next_due_at)
            .limit(limit)
        )
        if database.is_postgresql:
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(CheckinEnrolment)
                .where(CheckinEnrolment.id.in_(ids))
                .values(claimed_until=now + LEASE)
            )
        return ids


def start_checkin(service: ConversationService, enrolment_id: int, now: datetime) -> None:
    """Start this week's check-in for one enrolment, or record why it waits or is skipped."""
    with service.database.write() as session:
        enrolment = session.get(CheckinEnrolment, enrolment_id)
        if enrolment is None or enrolment.next_due_at is None:
            return
        contact = service.lock_contact(session, enrolment.contact_id)
        enrolment.claimed_until = None
        if enrolment.status != EnrolmentStatus.ACTIVE or enrolment.next_due_at > now:
            return  # paused or moved since it was claimed
        week = week_start(enrolment.next_due_at, enrolment.timezone)
        reason = _why_not_now(session, contact, enrolment)
        if reason == "busy" and week_start(now + BUSY_RETRY, enrolment.timezone) == week:
            enrolment.next_due_at = now + BUSY_RETRY
            return
        checkin = Checkin(
            enrolment_id=enrolment.id,
            week_start=week,
            due_at=enrolment.next_due_at,
            status=CheckinStatus.SENT,
        )
        try:
            with session.begin_nested():
                session.add(checkin)
        except sqlalchemy.exc.IntegrityError:
            # This week's check-in exists already (another worker got there first).
            schedule(enrolment, now)
            return
        schedule(enrolment, now)
        if reason is not None:
            checkin.status = CheckinStatus.SKIPPED
            checkin.skipped_reason = reason
            log.info("check-in %s skipped: %s", checkin.id, reason)
            return
        address = session.get(ContactAddress, enrolment.address_id)
        assert address is not None  # _why_not_now checked it
        mark_ucla_due(contact, enrolment, week.day <= 7)
        run, _ = service.start_locked(
            session, contact, address, CHECKIN_FLOW, now, priority=outbox.PRIORITY_BULK
        )
        checkin.sent_at = now
        checkin.conversation_id = run.id


def _why_not_now(session: Session, contact: Contact, enrolment: CheckinEnrolment) -> str | None:
    address = session.get(ContactAddress, enrolment.address_id) if enrolment.address_id else None
    busy = (
        held_case(session, contact.id) is not None
        or active_conversation(session, contact.id) is not None
    )
    return fanout.why_not(contact, address, busy)


def mark_ucla_due(contact: Contact, enrolment: CheckinEnrolment, first_of_month: bool) -> None:
    """The UCLA-3 questions come with the first check-in of a month, for those who agreed."""
    due = enrolment.ucla_monthly and first_of_month
    # Only write when it changes: a wave of check-ins should not rewrite every contact.
    if bool(contact.fields.get("ucla_due")) != due:
        contact.fields = {**contact.fields, "ucla_due": due}


def on_run_ended(
    session: Session,
    conversation: Conversation,
    outcome: str,
    results: dict[str, Any],
    now: datetime,
) -> None:
    """Record how a weekly check-in ended: answered, or missed (and maybe no news)."""
    if conversation.flow != CHECKIN_FLOW:
        return
    checkin = session.scalar(select(Checkin).where(Checkin.conversation_id == conversation.id))
    if checkin is None:
        return  # a check-in started by hand (relais chat, the simulator)
    enrolment = session.get(CheckinEnrolment, checkin.enrolment_id)
    if enrolment is None:
        return
    if outcome == "missed":
        checkin.status = CheckinStatus.MISSED
        enrolment.consecutive_missed += 1
        if enrolment.consecutive_missed % NO_NEWS_AFTER == 0:
            contact = session.get(Contact, enrolment.contact_id)
            assert contact is not None
            request_case(
                session,
                contact,
                now,
                queue="checkins",
                priority=Priority.HIGH,
                reason=NO_NEWS_REASON,
                summary=f"No answer to the last {enrolment.consecutive_missed} weekly check-ins.",
            )
    else:
        checkin.status = CheckinStatus.ANSWERED
        checkin.answered_at = now
        checkin.answers = results
        enrolment.consecutive_missed = 0
    enrolment.updated_at = now
