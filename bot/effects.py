"""What the engine's events do to the database, inside the conversation's transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.engine.events import (
    CaseRequested,
    CheckinsEnrolled,
    Event,
    FieldSaved,
    LanguageChanged,
    MessageCreated,
    RunFailed,
)
from bot.engine.steps.enrol_checkins import WEEKDAYS
from bot.schedule import Slot, next_due
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CheckinEnrolment,
    Consent,
    Contact,
    ContactAddress,
    EnrolmentChange,
    EnrolmentStatus,
    Message,
    Priority,
)

log = logging.getLogger(__name__)


@dataclass
class Applied:
    """What applying a sprint's events produced."""

    messages: list[Message] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


def apply_events(
    session: Session,
    contact: Contact,
    address: ContactAddress,
    events: Sequence[Event],
    now: datetime,
    *,
    conversation_id: int | None,
    default_language: str,
    default_timezone: str,
    priority: int = outbox.PRIORITY_NORMAL,
) -> Applied:
    """Store fields, open cases, enrol, and queue messages, in event order."""
    applied = Applied()
    for event in events:
        if isinstance(event, MessageCreated):
            applied.messages.append(
                outbox.enqueue(
                    session,
                    address,
                    event.text,
                    now,
                    choices=event.choices,
                    conversation_id=conversation_id,
                    priority=priority,
                )
            )
        elif isinstance(event, FieldSaved):
            save_field(contact, event.field, event.value, now)
        elif isinstance(event, LanguageChanged):
            contact.language = event.language
        elif isinstance(event, CaseRequested):
            applied.cases.append(
                request_case(
                    session,
                    contact,
                    now,
                    queue=event.queue,
                    priority=Priority(event.priority),
                    reason=event.reason,
                    summary=event.summary,
                )
            )
        elif isinstance(event, CheckinsEnrolled):
            enrol(
                session,
                contact,
                address,
                event,
                now,
                language=contact.language or default_language,
                timezone=contact.timezone or default_timezone,
            )
        elif isinstance(event, RunFailed):
            log.error("run failed for contact %s: %s", contact.id, event.reason)
    return applied


def save_field(contact: Contact, name: str, value: Any, now: datetime) -> None:
    """Save `contact.<name>`; a few fields also have their own column."""
    if name == "consent":
        given = value is True
        contact.consent = Consent.GIVEN if given else Consent.REFUSED
        contact.consent_at = now
    elif name == "first_name":
        contact.display_name = None if value is None else str(value)[:100]
    # A new dict, so SQLAlchemy sees the JSON column change.
    contact.fields = {**contact.fields, name: value}


def request_case(
    session: Session,
    contact: Contact,
    now: datetime,
    *,
    queue: str,
    priority: Priority,
    reason: str,
    summary: str | None,
    category: str | None = None,
) -> Case:
    """Open a case, or add to the person's open case for the same reason.

    A person who asks twice for a call should not appear twice in the queue; the second
    request is recorded on the first case, which moves up if it became more urgent.
    """
    existing = session.scalar(
        select(Case).where(
            Case.contact_id == contact.id,
            Case.reason == reason,
            Case.status != CaseStatus.CLOSED,
        )
    )
    if existing is not None:
        if priority.rank < existing.priority_rank:
            existing.priority, existing.priority_rank = priority, priority.rank
        existing.events.append(
            CaseEvent(kind="requested", body=summary, data={"priority": priority}, created_at=now)
        )
        return existing
    case = Case(
        contact_id=contact.id,
        queue=queue,
        status=CaseStatus.OPEN,
        priority=priority,
        priority_rank=priority.rank,
        reason=reason,
        category=category,
        summary=summary,
        opened_at=now,
    )
    case.events.append(CaseEvent(kind="opened", body=summary, created_at=now))
    session.add(case)
    session.flush()
    return case


def attach_to_case(
    case: Case,
    message: Message,
    now: datetime,
    *,
    data: dict[str, Any] | None = None,
    link: bool = True,
) -> None:
    """Put an inbound message on a case, where the worker sees it arrive.

    `link=False` shows it on the case without making it the message's case (a danger
    message belongs to its urgent case, and also appears on the case a worker holds).
    """
    if link:
        message.case_id = case.id
    case.events.append(CaseEvent(kind="inbound", message_id=message.id, data=data, created_at=now))


def enrol(
    session: Session,
    contact: Contact,
    address: ContactAddress,
    event: CheckinsEnrolled,
    now: datetime,
    *,
    language: str,
    timezone: str,
) -> CheckinEnrolment:
    """Enrol (or re-enrol) the person in weekly check-ins on the channel they use."""
    hours, minutes = (int(part) for part in event.time.split(":"))
    enrolment = session.scalar(
        select(CheckinEnrolment).where(CheckinEnrolment.contact_id == contact.id)
    )
    if enrolment is None:
        enrolment = CheckinEnrolment(contact_id=contact.id, created_at=now)
        session.add(enrolment)
    enrolment.status = EnrolmentStatus.ACTIVE
    enrolment.channel = address.channel
    enrolment.address_id = address.id
    enrolment.language = language
    enrolment.timezone = timezone
    enrolment.weekday = WEEKDAYS.index(event.weekday)
    enrolment.minute_of_day = hours * 60 + minutes
    enrolment.consecutive_missed = 0
    enrolment.ucla_monthly = contact.fields.get("ucla_agreed") is True
    enrolment.updated_at = now
    enrolment.next_due_at = next_due(
        Slot(enrolment.weekday, enrolment.minute_of_day, enrolment.timezone), now
    )
    session.flush()
    session.add(
        EnrolmentChange(
            enrolment_id=enrolment.id,
            change="enrolled",
            detail={"weekday": event.weekday, "time": event.time, "by": "person"},
            created_at=now,
        )
    )
    return enrolment
