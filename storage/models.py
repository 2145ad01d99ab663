"""The Relais domain as SQLAlchemy 2 typed models.

Vocabularies (channels, statuses, priorities) are `StrEnum`s stored as short strings, not
native enums: adding a value later is a code change, not a schema migration.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import EncryptedJSON, EncryptedText, UTCDateTime

# Integer ids that are BIGINT on PostgreSQL and a ROWID alias on SQLite (which only
# auto-increments a column declared exactly INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it as a class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(none_as_null=True),
    }


class Channel(enum.StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    SIMULATOR = "simulator"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class MessageStatus(enum.StrEnum):
    # Inbound: stored, then handled (by the flows, a hook or a held case).
    RECEIVED = "received"
    HANDLED = "handled"
    # Outbound, through the outbox and the provider.
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class Consent(enum.StrEnum):
    UNKNOWN = "unknown"
    GIVEN = "given"
    REFUSED = "refused"


class RunStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CLOSED = "closed"


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Sort key: 0 is the most urgent."""
        return list(Priority).index(self)


class Role(enum.StrEnum):
    WORKER = "worker"
    SUPERVISOR = "supervisor"


class EnrolmentStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class CheckinStatus(enum.StrEnum):
    SENT = "sent"
    ANSWERED = "answered"
    MISSED = "missed"
    SKIPPED = "skipped"
    UNDELIVERED = "undelivered"


def _enum_column(kind: type[enum.StrEnum], default: enum.StrEnum | None = None) -> Any:
    length = max(len(member.value) for member in kind)
    return mapped_column(String(max(length, 12)), default=default, nullable=default is None)


class PersonKey(Base):
    """One person's data key, sealed by the master keys (RELAIS_ENCRYPTION_KEYS).

    Everything sealed about the person is sealed with this key (envelope encryption);
    erasure deletes the row, after which no copy of their data left in old database
    pages, WAL files or backups can be opened with the live keys. Rotating the master
    keys re-seals these rows only. The id is random: it names the key in each value
    (`enc:v2:<id>:...`) without saying whose it is.
    """

    __tablename__ = "person_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # A Fernet key, sealed by the master keyring like any other sealed value.
    sealed: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[datetime]


class Contact(Base):
    """A person who texts the association, whatever their channels."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The person's data key; None while no master key is configured (values are kept
    # `plain:`), for people created before keys per person existed (until `relais keys
    # reencrypt`), and once they are erased.
    key_id: Mapped[str | None] = mapped_column(
        ForeignKey("person_keys.id", ondelete="SET NULL"), index=True
    )
    key: Mapped[PersonKey | None] = relationship()
    # The language the person chose; None until they choose (the hint and default apply).
    language: Mapped[str | None] = mapped_column(String(8))
    language_hint: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The first name the person gave (also in `fields`): sealed at rest like them.
    display_name: Mapped[str | None] = mapped_column(EncryptedText())
    # What flows saved as `contact.<field>`: age bracket, postcode, preferences…
    fields: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON(), default=dict)
    consent: Mapped[str] = _enum_column(Consent, Consent.UNKNOWN)
    consent_at: Mapped[datetime | None]
    referral_source: Mapped[str | None] = mapped_column(String(64))
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Last message from the person: the retention clock (2 years) starts here.
    last_seen_at: Mapped[datetime | None] = mapped_column(index=True)
    erased_at: Mapped[datetime | None]

    addresses: Mapped[list[ContactAddress]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactAddress.id"
    )


class ContactAddress(Base):
    """One way to reach a contact: an SMS number, a WhatsApp number, a Telegram chat."""

    __tablename__ = "contact_addresses"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = _enum_column(Channel)
    # E.164 for SMS and WhatsApp (without the `whatsapp:` prefix), the chat id for Telegram.
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))

    contact: Mapped[Contact] = relationship(back_populates="addresses")


class Conversation(Base):
    """One run of a flow for a contact, with the engine's state as plain JSON."""

    __tablename__ = "conversations"
    __table_args__ = (
        # At most one active run per contact: the engine has one place to resume.
        Index(
            "uq_conversations_active_contact",
            "contact_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    flow: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = _enum_column(RunStatus, RunStatus.ACTIVE)
    # Answers in progress, then what the run collected: sealed at rest.
    state: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON(), default=dict)
    outcome: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # When the current wait times out (reminder, missed); the worker claims due rows
    # with a lease so a crashed worker's claim expires.
    wait_until: Mapped[datetime | None] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]


class Message(Base):
    """A message in or out, on one channel, with its delivery status."""

    __tablename__ = "messages"
    __table_args__ = (
        # A retried webhook carries the same provider id: unique, so it changes nothing.
        UniqueConstraint("channel", "direction", "provider_id"),
        Index("ix_messages_contact_id_id", "contact_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_addresses.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    direction: Mapped[str] = _enum_column(Direction)
    channel: Mapped[str] = _enum_column(Channel)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    # What produced it: flow, reply (a worker), safety, keyword, system; or the inbound kind.
    kind: Mapped[str] = mapped_column(String(16), default="flow")
    text: Mapped[str | None] = mapped_column(EncryptedText())
    # Choices shown as buttons or numbered lines, media descriptions, raw provider fields.
    payload: Mapped[dict[str, Any] | None]
    status: Mapped[str] = _enum_column(MessageStatus)
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class OutboxItem(Base):
    """A message waiting to be sent, written in the transaction that decided to send it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_contact_id_id", "contact_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = _enum_column(Channel)
    # Higher goes first: a danger reply overtakes a check-in wave.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    due_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]


class User(Base):
    """A dashboard account: a social worker or a supervisor."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = _enum_column(Role, Role.WORKER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where on-call alerts go (an address on the SMS or Telegram channel), if on call.
    on_call_channel: Mapped[str | None] = mapped_column(String(12))
    on_call_address: Mapped[str | None] = mapped_column(String(64))
    # Kept in every session cookie and compared at each request: raising it ends every
    # session of the account (logout, password change, deactivation, "log out everywhere").
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    # A password a supervisor (or `relais users create`) chose: the person must replace
    # it before any dashboard page opens.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class LoginFailure(Base):
    """Wrong passwords in a row for one account from one client address (an IPv4
    address or an IPv6 /64): a lock here never shuts the account for other addresses."""

    __tablename__ = "login_failures"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)


class Case(Base):
    """Something that needs a person: danger, a request for a call, low mood, silence."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_queue_order", "status", "priority_rank", "opened_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    queue: Mapped[str] = mapped_column(String(32), default="general")
    status: Mapped[str] = _enum_column(CaseStatus, CaseStatus.OPEN)
    priority: Mapped[str] = _enum_column(Priority, Priority.NORMAL)
    # Denormalised from `priority` so the queue sorts in the database.
    priority_rank: Mapped[int] = mapped_column(SmallInteger, default=Priority.NORMAL.rank)
    # A stable code (asked_for_person, often_lonely, no_news, danger, minor…).
    reason: Mapped[str] = mapped_column(String(32))
    # The danger category for safety cases (suicide, violence, medical, shelter…).
    category: Mapped[str | None] = mapped_column(String(32))
    # Often quotes the person: sealed at rest.
    summary: Mapped[str | None] = mapped_column(EncryptedText())
    opened_at: Mapped[datetime]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    alerts_sent: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_alert_at: Mapped[datetime | None]

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseEvent.id"
    )


class CaseEvent(Base):
    """The life of a case: opened, claimed, released, note, reply, closed, alerted…"""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A private note's text; empty for events that only change state.
    body: Mapped[str | None] = mapped_column(EncryptedText())
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]

    case: Mapped[Case] = relationship(back_populates="events")


class CheckinEnrolment(Base):
    """A person's agreement to a weekly check-in, in their preferred slot."""

    __tablename__ = "checkin_enrolments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = _enum_column(EnrolmentStatus, EnrolmentStatus.ACTIVE)
    channel: Mapped[str] = _enum_column(Channel)
    address_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_addresses.id", ondelete="SET NULL")
    )
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday, as in datetime
    # Minutes after local midnight of the preferred time (600 = 10:00).
    minute_of_day: Mapped[int] = mapped_column(SmallInteger)
    ucla_monthly: Mapped[bool] = mapped_column(Boolean, default=False)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]
    consecutive_missed: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class EnrolmentChange(Base):
    """History of an enrolment: enrolled, paused, resumed, slot changed, stopped."""

    __tablename__ = "enrolment_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("checkin_enrolments.id", ondelete="CASCADE"), index=True
    )
    change: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class Checkin(Base):
    """One week's check-in for one enrolment, and what came of it."""

    __tablename__ = "checkins"
    # One check-in per person per week, however many workers run the scheduler.
    __table_args__ = (UniqueConstraint("enrolment_id", "week_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("checkin_enrolments.id", ondelete="CASCADE")
    )
    week_start: Mapped[date] = mapped_column(Date)  # the Monday, in the person's timezone
    status: Mapped[str] = _enum_column(CheckinStatus)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    answers: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    skipped_reason: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who did what to whose file, and when. Records that things happened, not their content."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The actor as shown (an e-mail, "system", "cli"), kept when the account is gone.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any] | None]
    ip: Mapped[str | None] = mapped_column(String(45))
