"""What workers do with a case: claim, release, reassign, reply, note, close.

Plain functions on the caller's session: each checks who may act, changes the case,
records a case event and an audit entry, and lets the caller commit. The audit entry
says who did what to which case, never what was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import audit, outbox, texts
from bot.conversation import active_conversation, end_conversation, reply_address
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Contact,
    ContactAddress,
    Message,
    Priority,
    RunStatus,
    User,
)

OUTCOMES: tuple[str, ...] = (
    "mission_locale",
    "france_travail",
    "vae_support",
    "shelter_115",
    "health",
    "listened",
    "other",
)
# Twilio refuses longer bodies; Telegram allows more, but a reply is a message, not a letter.
MAX_REPLY_LENGTH = 1600
MAX_NOTE_LENGTH = 5000

# Service levels: how long a case may wait for someone to claim it, per priority.
SLA_URGENT_MINUTES = 15
SLA_HIGH_MINUTES = 4 * 60
SLA_NORMAL_WORKING_DAYS = 2
# Low-priority cases have no clock unless configured (0 means none).
SLA_LOW_WORKING_DAYS = 0
SLA_CONFIG_PREFIX = "RELAIS_SLA_"


class Worker(Protocol):
    """The person acting: a signed-in dashboard account."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def is_supervisor(self) -> bool: ...


class HandBack(Protocol):
    """Queues a system text (from bot.texts) to the person in their language."""

    def __call__(
        self, session: Session, contact: Contact, address: ContactAddress, text: str, now: datetime
    ) -> Any: ...


class CaseError(Exception):
    """An operation the case's state or the worker's rights do not allow."""


class CaseNotFound(CaseError):
    """No case has this id."""


class CaseClosed(CaseError):
    """The case is closed: nothing more can be done on it."""


class AlreadyHeld(CaseError):
    """Someone else holds the case (they got there first)."""

    def __init__(self, holder_id: int | None, holder_name: str) -> None:
        super().__init__(f"case already held by {holder_name}")
        self.holder_id = holder_id
        self.holder_name = holder_name


class NotHolder(CaseError):
    """Only the worker who holds the case, or a supervisor, may do this."""


class NotHeld(CaseError):
    """The case must be claimed first, so the person's answers come back to it."""


class Unreachable(CaseError):
    """The person cannot be written to: no address, or they asked for no more messages."""


class InvalidInput(CaseError):
    """An empty or too long text, an unknown outcome, an unknown or inactive account."""


# ------------------------------------------------------------------ operations


def claim(
    session: Session, case_id: int, worker: Worker, now: datetime, *, ip: str | None = None
) -> Case:
    """Take an open case; raise AlreadyHeld, naming the holder, when someone was first.

    One conditional UPDATE decides: on PostgreSQL the second of two concurrent claims
    waits for the first to commit, then finds the row no longer open and changes nothing.
    """
    result = session.execute(
        update(Case)
        .where(Case.id == case_id, Case.status == CaseStatus.OPEN, Case.assignee_id.is_(None))
        .values(status=CaseStatus.CLAIMED, assignee_id=worker.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise CaseNotFound(case_id)
    if getattr(result, "rowcount", 0) != 1:
        if case.status == CaseStatus.CLOSED:
            raise CaseClosed(case_id)
        if case.assignee_id == worker.id:
            return case  # a double click: it is already theirs
        raise AlreadyHeld(case.assignee_id, holder_name(session, case.assignee_id))
    _event(case, "claimed", worker, now)
    _audit(session, worker, audit.CASE_CLAIM, case, ip=ip)
    return case


def release(
    session: Session, case_id: int, worker: Worker, now: datetime, *, ip: str | None = None
) -> Case:
    """Put a held case back in the queue, unassigned."""
    case = _held_by(session, case_id, worker)
    if case.status != CaseStatus.CLAIMED:
        raise NotHeld(case_id)
    _lock_contact(session, case.contact_id)
    case.status = CaseStatus.OPEN
    case.assignee_id = None
    case.claimed_at = None
    _event(case, "released", worker, now)
    _audit(session, worker, audit.CASE_RELEASE, case, ip=ip)
    return case


def reassign(
    session: Session,
    case_id: int,
    supervisor: Worker,
    assignee_id: int,
    now: datetime,
    *,
    ip: str | None = None,
) -> Case:
    """Give a case to another worker (supervisors only)."""
    if not supervisor.is_supervisor:
        raise NotHolder("only a supervisor may reassign a case")
    case = _open_case(session, case_id)
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.active:
        raise InvalidInput("no active account with this id")
    previous = case.assignee_id
    case.status = CaseStatus.CLAIMED
    case.assignee_id = assignee.id
    case.claimed_at = now
    _event(case, "reassigned", supervisor, now, data={"from": previous, "to": assignee.id})
    _audit(
        session, supervisor, audit.CASE_REASSIGN, case, {"from": previous, "to": assignee.id}, ip=ip
    )
    return case


def reply(
    session: Session,
    case_id: int,
    worker: Worker,
    text: str,
    now: datetime,
    *,
    ip: str | None = None,
) -> Message:
    """Queue the worker's words to the person, on the address they last wrote from."""
    case = _held_by(session, case_id, worker)
    if case.status != CaseStatus.CLAIMED:
        raise NotHeld(case_id)
    body = _text(text, MAX_REPLY_LENGTH)
    contact = _contact(session, case.contact_id)
    if contact.opted_out_at is not None or contact.erased_at is not None:
        raise Unreachable("the person asked to receive no more messages")
    address = reply_address(session, contact.id)
    if address is None:
        raise Unreachable("the person has no address")
    message = outbox.enqueue(
        session, address, body, now, kind="reply", case_id=case.id, author_id=worker.id
    )
    _event(case, "reply", worker, now, message_id=message.id)
    _audit(session, worker, audit.CASE_REPLY, case, {"channel": address.channel}, ip=ip)
    return message


def note(
    session: Session,
    case_id: int,
    worker: Worker,
    text: str,
    now: datetime,
    *,
    ip: str | None = None,
) -> CaseEvent:
    """Add a private note, seen by workers only."""
    case = _held_by(session, case_id, worker)
    body = _text(text, MAX_NOTE_LENGTH)
    event = _event(case, "note", worker, now, body=body)
    _audit(session, worker, audit.CASE_NOTE, case, ip=ip)
    return event


def close(
    session: Session,
    case_id: int,
    worker: Worker,
    now: datetime,
    *,
    outcome: str,
    follow_up_on: date | None,
    hand_back: HandBack,
    ip: str | None = None,
) -> Case:
    """Close with an outcome, and tell the person the assistant takes over again."""
    if outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r}")
    case = _held_by(session, case_id, worker)
    # The same lock as an arriving message: it lands on the case or in the flows,
    # never on a case closed under its feet.
    contact = _lock_contact(session, case.contact_id)
    was_held = case.status == CaseStatus.CLAIMED
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.outcome = outcome
    case.follow_up_on = follow_up_on
    data: dict[str, Any] = {"outcome": outcome}
    if follow_up_on is not None:
        data["follow_up_on"] = follow_up_on.isoformat()
    _event(case, "closed", worker, now, data=data)
    _audit(session, worker, audit.CASE_CLOSE, case, {"outcome": outcome}, ip=ip)
    # Only a person a worker was talking to is handed back; the others heard nothing.
    if was_held and contact.opted_out_at is None and contact.erased_at is None:
        # The question the flows were waiting on when the worker took over is stale now:
        # the person's next message starts afresh instead of answering it.
        waiting = active_conversation(session, contact.id)
        if waiting is not None:
            end_conversation(waiting, now, RunStatus.INTERRUPTED, "worker_took_over")
        address = reply_address(session, contact.id)
        if address is not None:
            hand_back(session, contact, address, texts.CASE_CLOSED, now)
    return case


def holder_name(session: Session, user_id: int | None) -> str:
    """How to name the worker holding a case."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return "?"
    return user.display_name or user.email


# ------------------------------------------------------------------ service levels


@dataclass(frozen=True)
class ServiceLevels:
    """How long each priority may wait before it is overdue; None means no limit."""

    urgent: timedelta | None = timedelta(minutes=SLA_URGENT_MINUTES)
    high: timedelta | None = timedelta(minutes=SLA_HIGH_MINUTES)
    normal_working_days: int | None = SLA_NORMAL_WORKING_DAYS
    low_working_days: int | None = SLA_LOW_WORKING_DAYS or None

    def due_at(self, priority: str, opened_at: datetime, timezone: str) -> datetime | None:
        """When a case of this priority, opened then, becomes overdue."""
        if priority == Priority.URGENT:
            return None if self.urgent is None else opened_at + self.urgent
        if priority == Priority.HIGH:
            return None if self.high is None else opened_at + self.high
        days = self.normal_working_days if priority == Priority.NORMAL else self.low_working_days
        return None if days is None else add_working_days(opened_at, days, ZoneInfo(timezone))


def service_levels(config: Mapping[str, Any]) -> ServiceLevels:
    """Service levels from `RELAIS_SLA_*` keys of the app config (0 means no limit)."""

    def read(name: str, default: int) -> int | None:
        raw = config.get(SLA_CONFIG_PREFIX + name, default)
        value = int(raw)
        if value < 0:
            raise ValueError(f"{SLA_CONFIG_PREFIX}{name} must be 0 or more, not {raw!r}")
        return value or None

    urgent = read("URGENT_MINUTES", SLA_URGENT_MINUTES)
    high = read("HIGH_MINUTES", SLA_HIGH_MINUTES)
    return ServiceLevels(
        urgent=None if urgent is None else timedelta(minutes=urgent),
        high=None if high is None else timedelta(minutes=high),
        normal_working_days=read("NORMAL_WORKING_DAYS", SLA_NORMAL_WORKING_DAYS),
        low_working_days=read("LOW_WORKING_DAYS", SLA_LOW_WORKING_DAYS),
    )


def add_working_days(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    """`days` working days (Monday to Friday, local time) after `start`.

    A case opened at the weekend starts its clock on Monday at midnight.
    """
    local = start.astimezone(zone)
    if local.weekday() >= 5:
        monday = local.date() + timedelta(days=7 - local.weekday())
        local = datetime.combine(monday, time(0, 0), tzinfo=zone)
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    # Rebuilt from the wall-clock time, so a daylight-saving change does not shift it.
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(start.tzinfo)


# ------------------------------------------------------------------ helpers


def _open_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise CaseNotFound(case_id)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(case_id)
    return case


def _held_by(session: Session, case_id: int, worker: Worker) -> Case:
    """The case, if this worker holds it or is a supervisor."""
    case = _open_case(session, case_id)
    if case.assignee_id != worker.id and not worker.is_supervisor:
        raise NotHolder(case_id)
    return case


def _contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise CaseNotFound(contact_id)
    return contact


def _lock_contact(session: Session, contact_id: int) -> Contact:
    """The contact row, locked on PostgreSQL as the conversation service locks it."""
    query = select(Contact).where(Contact.id == contact_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    contact = session.scalars(query).one_or_none()
    if contact is None:
        raise CaseNotFound(contact_id)
    return contact


def _text(text: str, limit: int) -> str:
    body = text.strip()
    if not body:
        raise InvalidInput("empty text")
    if len(body) > limit:
        raise InvalidInput(f"longer than {limit} characters")
    return body


def _event(
    case: Case,
    kind: str,
    worker: Worker,
    now: datetime,
    *,
    body: str | None = None,
    message_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    event = CaseEvent(
        kind=kind,
        actor_id=worker.id,
        body=body,
        message_id=message_id,
        data=data,
        created_at=now,
    )
    case.events.append(event)
    return event


def _audit(
    session: Session,
    worker: Worker,
    action: str,
    case: Case,
    detail: dict[str, audit.DetailValue] | None = None,
    *,
    ip: str | None,
) -> None:
    audit.record(
        session,
        actor=worker,
        action=action,
        target_type="case",
        target_id=case.id,
        detail={"contact_id": case.contact_id, **(detail or {})},
        ip=ip,
    )
