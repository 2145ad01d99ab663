"""People's rights over their data: access (export), erasure, retention, refused consent.

Erasure keeps rows and drops content: messages, cases and check-ins stay as anonymous
counts (a channel, a direction, a status, a date) while every text, answer, name and
address goes. The contact row stays too, marked `erased_at`, so that the audit log's
"contact 42 was erased" still points somewhere; its addresses are deleted, so the next
message from the same number starts a new, empty file.

Everything here works inside the caller's session and never commits, except `purge`,
which runs one transaction per person so a long purge never holds many locks.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from bot import audit, envelope
from bot.config import Settings
from bot.conversation import FIRST_CONTACT_FLOW
from bot.worker import Task
from storage.db import Database
from storage.models import (
    AuditEntry,
    Case,
    CaseEvent,
    CaseStatus,
    Checkin,
    CheckinEnrolment,
    Consent,
    Contact,
    ContactAddress,
    Conversation,
    Direction,
    EnrolmentChange,
    EnrolmentStatus,
    Message,
    MessageStatus,
    OutboxItem,
    RunStatus,
)

log = logging.getLogger(__name__)

EXPORT_FORMAT = "relais.contact-export/1"
# Why an erasure happened, as recorded in the audit log (a code, never content).
ON_REQUEST = "request"
RETENTION = "retention"
ERASED = "erased"
_UNSENT = (MessageStatus.QUEUED, MessageStatus.SENDING)
PURGE_EVERY = timedelta(days=1)


class ContactNotFound(LookupError):
    """No contact has this id."""

    def __init__(self, contact_id: int) -> None:
        super().__init__(f"no contact {contact_id}")
        self.contact_id = contact_id


@dataclass(frozen=True)
class Erasure:
    """What an erasure touched (counts only: the content is gone)."""

    contact_id: int
    messages: int
    cases: int
    already_erased: bool = False


def erase_contact(
    session: Session,
    contact_id: int,
    *,
    actor: audit.Actor | str | None,
    now: datetime,
    reason: str = ON_REQUEST,
    ip: str | None = None,
) -> Erasure:
    """Remove the person's personal data and message texts; keep anonymous counts.

    Called by the DELETE/OUBLI keyword (inside the conversation's transaction, the
    contact already locked), a supervisor in the dashboard, `relais contacts erase` and
    the retention purge. Nothing queued for the person is sent afterwards.
    """
    contact = _lock(session, contact_id)
    if contact.erased_at is not None:
        return Erasure(contact_id, messages=0, cases=0, already_erased=True)
    case_ids = list(session.scalars(select(Case.id).where(Case.contact_id == contact_id)))
    about_them = _about(contact_id, case_ids)

    message_ids = list(session.scalars(select(Message.id).where(about_them)))
    unsent = select(Message.id).where(about_them, Message.status.in_(_UNSENT))
    session.execute(
        delete(OutboxItem)
        .where(or_(OutboxItem.contact_id == contact_id, OutboxItem.message_id.in_(unsent)))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        .where(about_them, Message.status.in_(_UNSENT))
        .values(status=MessageStatus.FAILED, error_code=ERASED)
        .execution_options(synchronize_session=False)
    )
    # Messages still waiting for the inbox: nothing is left to answer them with.
    session.execute(
        update(Message)
        .where(about_them, Message.status == MessageStatus.RECEIVED)
        .values(status=MessageStatus.HANDLED)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Message)
        .where(about_them)
        # A provider's message id leads back to the person too: on Telegram it holds the
        # chat id (a private chat's id is the person), and Twilio's SID finds the number.
        .values(text=None, payload=None, error_detail=None, address_id=None, provider_id=None)
        .execution_options(synchronize_session=False)
    )

    session.execute(
        update(Conversation)
        .where(Conversation.contact_id == contact_id, Conversation.status == RunStatus.ACTIVE)
        .values(status=RunStatus.INTERRUPTED, outcome=ERASED, ended_at=now, wait_until=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Conversation)
        .where(Conversation.contact_id == contact_id)
        .values(state={}, claimed_until=None)
        .execution_options(synchronize_session=False)
    )

    if case_ids:
        session.execute(
            update(CaseEvent)
            .where(CaseEvent.case_id.in_(case_ids))
            .values(body=None, data=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Case)
            .where(Case.id.in_(case_ids), Case.status != CaseStatus.CLOSED)
            .values(status=CaseStatus.CLOSED, closed_at=now, outcome=ERASED)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Case)
            .where(Case.id.in_(case_ids))
            .values(summary=None, follow_up_on=None)
            .execution_options(synchronize_session=False)
        )

    enrolments = select(CheckinEnrolment.id).where(CheckinEnrolment.contact_id == contact_id)
    session.execute(
        update(Checkin)
        .where(Checkin.enrolment_id.in_(enrolments))
        .values(answers=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(EnrolmentChange)
        .where(EnrolmentChange.enrolment_id.in_(enrolments))
        .values(detail=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(CheckinEnrolment)
        .where(CheckinEnrolment.contact_id == contact_id)
        .values(
            status=EnrolmentStatus.STOPPED,
            next_due_at=None,
            claimed_until=None,
            address_id=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )

    # The unique (channel, address) goes with the rows: a new message starts afresh.
    session.execute(
        delete(ContactAddress)
        .where(ContactAddress.contact_id == contact_id)
        .execution_options(synchronize_session=False)
    )
    contact.display_name = None
    contact.fields = {}
    contact.language_hint = None
    contact.referral_source = None
    contact.timezone = None
    contact.erased_at = now
    # What is left of them elsewhere (old row versions, WAL, backups) was sealed with
    # their own key: without it, it no longer opens (scrub() then clears the key's traces).
    envelope.destroy(session, contact)
    audit.record(
        session,
        actor=actor,
        action=audit.CONTACT_ERASE,
        target_type="contact",
        target_id=contact_id,
        detail={"reason": reason},
        ip=ip,
    )
    session.flush()
    # Objects of this session loaded before the bulk statements would show old content.
    session.expire_all()
    return Erasure(contact_id, messages=len(message_ids), cases=len(case_ids))


def forget_without_consent(
    session: Session,
    conversation: Conversation,
    outcome: str,
    results: dict[str, Any],
    now: datetime,
) -> None:
    """A run-end hook: first contact ended without consent, so drop what was said.

    Before consent, the person's messages are kept only to run the first contact (and
    the safety scan). If it ends without a yes, their texts are blanked and the run's
    answers dropped; only the address, the language they chose and the refusal itself
    remain. Messages attached to a case stay: a worker must read them (a danger message,
    a request for a person), which is the vital interest the refusal cannot override.
    """
    if conversation.flow != FIRST_CONTACT_FLOW:
        return
    contact = session.get(Contact, conversation.contact_id)
    if contact is None or contact.consent == Consent.GIVEN:
        return
    session.execute(
        update(Message)
        .where(
            Message.contact_id == contact.id,
            Message.direction == Direction.IN,
            Message.case_id.is_(None),
            # Messages not processed yet are left alone: one may be a cry for help that
            # the safety scan has still to read (it then attaches it to a case).
            Message.status != MessageStatus.RECEIVED,
        )
        .values(text=None)
        .execution_options(synchronize_session="fetch")
    )
    conversation.state = {}
    kept = {"consent": contact.fields["consent"]} if "consent" in contact.fields else {}
    contact.fields = kept
    contact.display_name = None


def export_contact(
    session: Session,
    contact_id: int,
    *,
    actor: audit.Actor | str | None,
    now: datetime,
    ip: str | None = None,
) -> dict[str, Any]:
    """Everything stored about the person, as JSON-ready data (an access request)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise ContactNotFound(contact_id)
    cases = list(
        session.scalars(select(Case).where(Case.contact_id == contact_id).order_by(Case.id))
    )
    messages = session.scalars(
        select(Message).where(Message.contact_id == contact_id).order_by(Message.id)
    )
    conversations = session.scalars(
        select(Conversation).where(Conversation.contact_id == contact_id).order_by(Conversation.id)
    )
    enrolment = session.scalar(
        select(CheckinEnrolment).where(CheckinEnrolment.contact_id == contact_id)
    )
    access = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.target_type == "contact", AuditEntry.target_id == contact_id)
        .order_by(AuditEntry.id)
    )
    export = {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(now),
        "contact": _contact(contact),
        "addresses": [_address(address) for address in contact.addresses],
        "messages": [_message(message) for message in messages],
        "conversations": [_conversation(conversation) for conversation in conversations],
        "cases": [_case(case) for case in cases],
        "checkins": _checkins(session, enrolment),
        # Who opened the file is recorded as an action and a date (not the worker's name):
        # the person learns that their file was read, exported or changed, and when.
        "access_log": [{"at": _iso(entry.at), "action": entry.action} for entry in access],
    }
    audit.record(
        session,
        actor=actor,
        action=audit.CONTACT_EXPORT,
        target_type="contact",
        target_id=contact_id,
        ip=ip,
    )
    return export


def dumps(export: dict[str, Any]) -> str:
    """The export as the JSON file handed to the person (UTF-8, readable)."""
    return json.dumps(export, ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class Purged:
    """What a retention pass removed."""

    contacts: int
    audit_entries: int

    @property
    def total(self) -> int:
        return self.contacts + self.audit_entries


def purge_task(database: Database, settings: Settings) -> Task:
    """The worker's daily retention pass (run at start, then every day)."""

    def run(now: datetime) -> int:
        return purge(
            database,
            now,
            retention=timedelta(days=settings.retention_days),
            audit_retention=timedelta(days=settings.audit_retention_days),
        ).total

    return Task("retention purge", run, every=PURGE_EVERY.total_seconds())


def purge(
    database: Database,
    now: datetime,
    *,
    retention: timedelta,
    audit_retention: timedelta,
    actor: str = audit.SYSTEM,
) -> Purged:
    """Erase people with no contact for `retention`; delete older audit entries."""
    cutoff = now - retention
    with database.read() as session:
        due = list(session.scalars(select(Contact.id).where(_quiet_since(cutoff))))
    erased = 0
    for contact_id in due:
        with database.write() as session:
            contact = _lock(session, contact_id)
            # They may have written since the list was read: check again under the lock.
            if contact.erased_at is None and _last_contact(contact) < cutoff:
                erase_contact(session, contact_id, actor=actor, now=now, reason=RETENTION)
                erased += 1
    with database.write() as session:
        result = session.execute(
            delete(AuditEntry)
            .where(AuditEntry.at < now - audit_retention)
            .execution_options(synchronize_session=False)
        )
        removed = int(getattr(result, "rowcount", 0) or 0)
    # Daily, whoever erased people since (the DELETE keyword does not wait for it).
    envelope.scrub(database)
    if erased or removed:
        log.info("retention: %d contact(s) erased, %d audit entries deleted", erased, removed)
    return Purged(contacts=erased, audit_entries=removed)


# --- helpers ---


def _lock(session: Session, contact_id: int) -> Contact:
    # FOR UPDATE on PostgreSQL (an inbound message for the person waits); SQLite
    # serialises writers already and SQLAlchemy leaves the clause out there.
    contact = session.scalar(select(Contact).where(Contact.id == contact_id).with_for_update())
    if contact is None:
        raise ContactNotFound(contact_id)
    return contact


def _about(contact_id: int, case_ids: list[int]) -> ColumnElement[bool]:
    """The person's messages, and messages about their cases (alerts to on-call staff)."""
    if not case_ids:
        return Message.contact_id == contact_id
    return or_(Message.contact_id == contact_id, Message.case_id.in_(case_ids))


def _quiet_since(cutoff: datetime) -> ColumnElement[bool]:
    last = func.coalesce(Contact.last_seen_at, Contact.created_at)
    return (Contact.erased_at.is_(None)) & (last < cutoff)


def _last_contact(contact: Contact) -> datetime:
    return contact.last_seen_at or contact.created_at


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _plain(row: Any, *names: str) -> dict[str, Any]:
    """These attributes of a row, in this order, times and dates in ISO 8601."""
    values = {name: getattr(row, name) for name in names}
    return {
        name: _iso(value) if isinstance(value, date) else value for name, value in values.items()
    }


def _contact(contact: Contact) -> dict[str, Any]:
    return _plain(
        contact,
        *("id", "display_name", "language", "language_hint", "timezone", "fields", "consent"),
        *("consent_at", "referral_source", "opted_out_at", "created_at", "last_seen_at"),
        "erased_at",
    )


def _address(address: ContactAddress) -> dict[str, Any]:
    return _plain(
        address,
        *("channel", "address", "created_at", "last_inbound_at", "unreachable_at"),
        "unreachable_reason",
    )


def _message(message: Message) -> dict[str, Any]:
    return {
        **_plain(message, "id", "direction", "channel", "kind", "text"),
        "choices": (message.payload or {}).get("choices"),
        **_plain(message, "status", "error_code", "created_at", "sent_at", "delivered_at"),
        **_plain(message, "conversation_id", "case_id"),
    }


def _conversation(conversation: Conversation) -> dict[str, Any]:
    # `state`: the answers given so far, or what a finished run collected.
    return _plain(
        conversation, "id", "flow", "status", "outcome", "started_at", "ended_at", "state"
    )


def _case(case: Case) -> dict[str, Any]:
    return {
        **_plain(case, "id", "queue", "status", "priority", "reason", "category", "summary"),
        **_plain(case, "opened_at", "claimed_at", "closed_at", "outcome", "follow_up_on"),
        "events": [
            _plain(event, "kind", "body", "data", "message_id", "created_at")
            for event in case.events
        ],
    }


def _checkins(session: Session, enrolment: CheckinEnrolment | None) -> dict[str, Any] | None:
    if enrolment is None:
        return None
    changes = session.scalars(
        select(EnrolmentChange)
        .where(EnrolmentChange.enrolment_id == enrolment.id)
        .order_by(EnrolmentChange.id)
    )
    weeks = session.scalars(
        select(Checkin).where(Checkin.enrolment_id == enrolment.id).order_by(Checkin.week_start)
    )
    return {
        "enrolment": _plain(
            enrolment,
            *("status", "channel", "language", "timezone", "weekday", "minute_of_day"),
            *("ucla_monthly", "next_due_at", "created_at"),
        ),
        "history": [
            {"change": change.change, "detail": change.detail, "at": _iso(change.created_at)}
            for change in changes
        ],
        "weeks": [
            _plain(
                week,
                *("week_start", "status", "answers", "skipped_reason", "due_at", "sent_at"),
                "answered_at",
            )
            for week in weeks
        ],
    }
