"""Starting a wave of weekly check-ins in batches: a few statements for hundreds of people.

A check-in's first sprint is pure: the engine only sends the question and waits. So a
batch of claimed enrolments is handled in one transaction — the people locked together,
what decides each one read in a handful of queries, the engine run for each, and their
runs, messages, outbox rows and check-ins written with bulk inserts. Anyone whose first
sprint does more than send (an unusual flow change) goes back to the one-by-one path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot import envelope, outbox
from bot.conversation import ConversationService
from bot.engine.events import FlowEntered, MessageCreated
from bot.engine.runner import Sprint
from bot.schedule import week_start
from storage.models import (
    Case,
    CaseStatus,
    Checkin,
    CheckinEnrolment,
    CheckinStatus,
    Contact,
    ContactAddress,
    Conversation,
    EnrolmentStatus,
    RunStatus,
)

# The flow a check-in starts (also bot.checkins.CHECKIN_FLOW, which reads it from here).
CHECKIN_FLOW = "weekly_checkin"


@dataclass
class _Start:
    enrolment: CheckinEnrolment
    address: ContactAddress
    week: date
    due: datetime
    sprint: Sprint


def start_batch(
    service: ConversationService, ids: Sequence[int], now: datetime, *, busy_retry: timedelta
) -> list[int]:
    """Start the check-ins of claimed enrolments; return the ids left to the one-by-one path."""
    # Imported here: bot.checkins imports this module.
    from bot.checkins import mark_ucla_due, schedule

    with service.database.write() as session:
        enrolments = list(
            session.scalars(
                select(CheckinEnrolment)
                .where(CheckinEnrolment.id.in_(ids))
                .order_by(CheckinEnrolment.contact_id)
            )
        )
        contact_ids = [enrolment.contact_id for enrolment in enrolments]
        contacts = _lock_contacts(service, session, contact_ids)
        addresses = {
            address.id: address
            for address in session.scalars(
                select(ContactAddress).where(
                    ContactAddress.id.in_([e.address_id for e in enrolments if e.address_id])
                )
            )
        }
        busy = _busy(session, contact_ids)
        done = set(
            session.execute(
                select(Checkin.enrolment_id, Checkin.week_start).where(
                    Checkin.enrolment_id.in_(ids)
                )
            ).tuples()
        )
        starts: list[_Start] = []
        skipped: list[dict[str, object]] = []
        fallback: list[int] = []
        for enrolment in enrolments:
            enrolment.claimed_until = None
            due = enrolment.next_due_at
            if enrolment.status != EnrolmentStatus.ACTIVE or due is None or due > now:
                continue
            week = week_start(due, enrolment.timezone)
            if (enrolment.id, week) in done:
                schedule(enrolment, now)
                continue
            contact = contacts[enrolment.contact_id]
            address = addresses.get(enrolment.address_id or 0)
            reason = why_not(contact, address, enrolment.contact_id in busy)
            if reason == "busy" and week_start(now + busy_retry, enrolment.timezone) == week:
                enrolment.next_due_at = now + busy_retry
                continue
            schedule(enrolment, now)
            if reason is not None or address is None:
                skipped.append(_checkin_row(enrolment, week, due, CheckinStatus.SKIPPED, reason))
                continue
            mark_ucla_due(contact, enrolment, week.day <= 7)
            sprint = service.runtime.runner.start(CHECKIN_FLOW, service.contact_view(contact), now)
            if sprint.state is None or any(
                not isinstance(event, (MessageCreated, FlowEntered)) for event in sprint.events
            ):
                enrolment.next_due_at = due  # the one-by-one path decides it again
                fallback.append(enrolment.id)
                continue
            starts.append(_Start(enrolment, address, week, due, sprint))
        _write(session, starts, skipped, now)
    return fallback


def _lock_contacts(
    service: ConversationService, session: Session, contact_ids: list[int]
) -> dict[int, Contact]:
    query = select(Contact).where(Contact.id.in_(contact_ids)).order_by(Contact.id)
    if service.database.is_postgresql:
        # In id order, as everywhere, so two batches never wait for each other in a cycle.
        query = query.with_for_update()
    return {contact.id: contact for contact in session.scalars(query)}


def _busy(session: Session, contact_ids: list[int]) -> set[int]:
    held = session.scalars(
        select(Case.contact_id).where(
            Case.contact_id.in_(contact_ids), Case.status == CaseStatus.CLAIMED
        )
    )
    talking = session.scalars(
        select(Conversation.contact_id).where(
            Conversation.contact_id.in_(contact_ids), Conversation.status == RunStatus.ACTIVE
        )
    )
    return set(held) | set(talking)


def why_not(contact: Contact, address: ContactAddress | None, busy: bool) -> str | None:
    """Why this week's check-in is not sent now (None: send it). One rule, both paths."""
    if contact.opted_out_at is not None:
        return "opted_out"
    if address is None or address.unreachable_at is not None:
        return "unreachable"
    return "busy" if busy else None


def _checkin_row(
    enrolment: CheckinEnrolment,
    week: date,
    due: datetime,
    status: CheckinStatus,
    reason: str | None = None,
    *,
    conversation_id: int | None = None,
    sent_at: datetime | None = None,
) -> dict[str, object]:
    return {
        "enrolment_id": enrolment.id,
        "week_start": week,
        "due_at": due,
        "status": status,
        "skipped_reason": reason,
        "conversation_id": conversation_id,
        "sent_at": sent_at,
    }


def _write(
    session: Session, starts: list[_Start], skipped: list[dict[str, object]], now: datetime
) -> None:
    runs: list[int] = []
    # Bulk inserts pass no flush: each person's key is handed over here (bot.envelope).
    keys = envelope.keys_for(session, {start.enrolment.contact_id for start in starts})
    if starts:
        runs = list(
            session.scalars(
                insert(Conversation).returning(Conversation.id, sort_by_parameter_order=True),
                [
                    {
                        "contact_id": start.enrolment.contact_id,
                        "flow": CHECKIN_FLOW,
                        "status": RunStatus.ACTIVE,
                        "state": envelope.owned(
                            start.sprint.state, keys.get(start.enrolment.contact_id)
                        ),
                        "started_at": now,
                        "updated_at": now,
                        "wait_until": start.sprint.wait_until,
                    }
                    for start in starts
                ],
            )
        )
    outbox.enqueue_many(
        session,
        [
            outbox.Outgoing(start.address, event.text, event.choices, run_id)
            for start, run_id in zip(starts, runs, strict=True)
            for event in start.sprint.events
            if isinstance(event, MessageCreated)
        ],
        now,
        priority=outbox.PRIORITY_BULK,
    )
    rows = skipped + [
        _checkin_row(
            start.enrolment,
            start.week,
            start.due,
            CheckinStatus.SENT,
            conversation_id=run_id,
            sent_at=now,
        )
        for start, run_id in zip(starts, runs, strict=True)
    ]
    if rows:
        session.execute(insert(Checkin), rows)
