"""What a worker may do to a person's weekly check-ins: enrol, pause, resume, reschedule, stop.

Each change locks the person first (the scheduler locks them too before it starts a
check-in, so the two never cross), recomputes the next check-in with
`bot.checkins.schedule`, and leaves two traces committed with it: an `EnrolmentChange` in
the enrolment's history, which the contact card shows, and an audit entry naming the
worker, which supervisors read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot.checkins import schedule, set_status
from bot.conversation import ConversationService, reply_address
from bot.engine.steps.enrol_checkins import WEEKDAYS
from bot.schedule import Slot
from storage.models import CheckinEnrolment, Consent, Contact, EnrolmentChange, EnrolmentStatus


class Change(enum.StrEnum):
    """The kinds of change, as stored in `EnrolmentChange.change` and the audit detail."""

    ENROLLED = "enrolled"
    PAUSED = "paused"
    RESUMED = "resumed"
    RESCHEDULED = "rescheduled"
    STOPPED = "stopped"


class Refusal(enum.StrEnum):
    """Why a change cannot be made; the dashboard turns each into a sentence."""

    NO_CONTACT = "no_contact"
    ERASED = "erased"
    OPTED_OUT = "opted_out"
    NO_CONSENT = "no_consent"
    NO_ADDRESS = "no_address"
    ALREADY_ENROLLED = "already_enrolled"
    NOT_ENROLLED = "not_enrolled"
    NOT_ACTIVE = "not_active"
    NOT_PAUSED = "not_paused"


class EnrolmentRefused(Exception):
    """The change does not apply to the enrolment as it is now; nothing was written."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class SlotChoice:
    """The weekly slot a worker picked with the person, and the monthly UCLA-3 questions."""

    weekday: int
    minute_of_day: int
    ucla_monthly: bool

    def __post_init__(self) -> None:
        # The same bounds as the scheduler's slot: a bad form value fails here, not later.
        Slot(self.weekday, self.minute_of_day, "UTC")

    @property
    def time(self) -> str:
        return f"{self.minute_of_day // 60:02d}:{self.minute_of_day % 60:02d}"


# Which statuses each change applies to, and the refusal otherwise.
_FROM: dict[Change, tuple[frozenset[str], Refusal]] = {
    Change.PAUSED: (frozenset({EnrolmentStatus.ACTIVE}), Refusal.NOT_ACTIVE),
    Change.RESUMED: (frozenset({EnrolmentStatus.PAUSED}), Refusal.NOT_PAUSED),
    Change.RESCHEDULED: (
        frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED}),
        Refusal.NOT_ENROLLED,
    ),
    Change.STOPPED: (
        frozenset({EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED}),
        Refusal.NOT_ENROLLED,
    ),
}


def enrol(
    service: ConversationService,
    contact_id: int,
    choice: SlotChoice,
    actor: audit.Actor,
    now: datetime,
    *,
    ip: str | None = None,
) -> CheckinEnrolment:
    """Enrol the person (again, after a stop) on the address they last wrote from."""
    with service.database.write() as session:
        contact = _lock(service, session, contact_id)
        if contact.opted_out_at is not None:
            raise EnrolmentRefused(Refusal.OPTED_OUT)
        if contact.consent == Consent.REFUSED:
            # Weekly check-ins keep what the person answers: not without their consent,
            # whoever asks for it.
            raise EnrolmentRefused(Refusal.NO_CONSENT)
        enrolment = _enrolment(session, contact_id)
        if enrolment is not None and enrolment.status != EnrolmentStatus.STOPPED:
            raise EnrolmentRefused(Refusal.ALREADY_ENROLLED)
        address = reply_address(session, contact_id)
        if address is None:
            raise EnrolmentRefused(Refusal.NO_ADDRESS)
        if enrolment is None:
            enrolment = CheckinEnrolment(contact_id=contact_id, created_at=now)
            session.add(enrolment)
        enrolment.status = EnrolmentStatus.ACTIVE
        enrolment.channel = address.channel
        enrolment.address_id = address.id
        enrolment.language = service.language_of(contact)
        enrolment.timezone = contact.timezone or service.settings.timezone
        enrolment.consecutive_missed = 0
        _set_slot(enrolment, choice)
        enrolment.claimed_until = None
        schedule(enrolment, now)
        enrolment.updated_at = now
        session.flush()
        _trace(session, enrolment, Change.ENROLLED, actor, now, ip, _slot_detail(choice))
        return enrolment


def reschedule(
    service: ConversationService,
    contact_id: int,
    choice: SlotChoice,
    actor: audit.Actor,
    now: datetime,
    *,
    ip: str | None = None,
) -> None:
    """Move the weekly slot (and the UCLA-3 choice); a paused enrolment stays paused."""
    with service.database.write() as session:
        _lock(service, session, contact_id)
        enrolment = _changeable(session, contact_id, Change.RESCHEDULED)
        _set_slot(enrolment, choice)
        if enrolment.status == EnrolmentStatus.ACTIVE:
            schedule(enrolment, now)
        enrolment.updated_at = now
        _trace(session, enrolment, Change.RESCHEDULED, actor, now, ip, _slot_detail(choice))


STATUS_CHANGES = (Change.PAUSED, Change.RESUMED, Change.STOPPED)
NEW_STATUS = {
    Change.PAUSED: EnrolmentStatus.PAUSED,
    Change.RESUMED: EnrolmentStatus.ACTIVE,
    Change.STOPPED: EnrolmentStatus.STOPPED,
}


def change_status(
    service: ConversationService,
    contact_id: int,
    change: Change,
    actor: audit.Actor,
    now: datetime,
    *,
    ip: str | None = None,
) -> None:
    """Pause (no check-in until resumed; one under way goes on), resume (from the next
    slot; paused weeks are not missed) or stop (the history stays; enrol again later)."""
    if change not in STATUS_CHANGES:
        raise ValueError(f"not a status change: {change}")
    with service.database.write() as session:
        _lock(service, session, contact_id)
        enrolment = _changeable(session, contact_id, change)
        set_status(enrolment, NEW_STATUS[change], now)
        _trace(session, enrolment, change, actor, now, ip, {})


def _lock(service: ConversationService, session: Session, contact_id: int) -> Contact:
    if session.get(Contact, contact_id) is None:
        raise EnrolmentRefused(Refusal.NO_CONTACT)
    contact = service.lock_contact(session, contact_id)
    if contact.erased_at is not None:
        raise EnrolmentRefused(Refusal.ERASED)
    return contact


def _enrolment(session: Session, contact_id: int) -> CheckinEnrolment | None:
    return session.scalar(select(CheckinEnrolment).where(CheckinEnrolment.contact_id == contact_id))


def _changeable(session: Session, contact_id: int, change: Change) -> CheckinEnrolment:
    enrolment = _enrolment(session, contact_id)
    if enrolment is None:
        raise EnrolmentRefused(Refusal.NOT_ENROLLED)
    allowed, refusal = _FROM[change]
    if enrolment.status not in allowed:
        raise EnrolmentRefused(refusal)
    return enrolment


def _set_slot(enrolment: CheckinEnrolment, choice: SlotChoice) -> None:
    enrolment.weekday = choice.weekday
    enrolment.minute_of_day = choice.minute_of_day
    enrolment.ucla_monthly = choice.ucla_monthly


def _slot_detail(choice: SlotChoice) -> dict[str, str | bool]:
    # Weekday names, as the flows record them (bot.effects.enrol), so one history reads alike.
    return {
        "weekday": WEEKDAYS[choice.weekday],
        "time": choice.time,
        "ucla_monthly": choice.ucla_monthly,
    }


def _trace(
    session: Session,
    enrolment: CheckinEnrolment,
    change: Change,
    actor: audit.Actor,
    now: datetime,
    ip: str | None,
    detail: dict[str, str | bool],
) -> None:
    session.add(
        EnrolmentChange(
            enrolment_id=enrolment.id,
            change=change.value,
            actor_id=actor.id,
            detail={**detail, "by": "worker"},
            created_at=now,
        )
    )
    audit.record(
        session,
        actor=actor,
        action=audit.CHECKIN_ENROLMENT,
        target_type="contact",
        target_id=enrolment.contact_id,
        detail={"change": change.value, **detail},
        ip=ip,
    )
