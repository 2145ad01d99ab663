"""A small cast for case tests: people who wrote, cases about them, the staff who act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import clock
from bot.accounts import create_user
from storage.db import Database
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    Contact,
    ContactAddress,
    Priority,
    Role,
)

# Fiction-range numbers (domain.md): never a real person's.
MARIAM_PHONE = "+33639980134"
MARIAM_CHAT = "700100200"


@dataclass(frozen=True)
class Staff:
    """A dashboard account as the case operations see it."""

    id: int
    email: str
    name: str
    is_supervisor: bool


def staff(database: Database, email: str, name: str, role: Role = Role.WORKER) -> Staff:
    """Create an active account."""
    with database.write() as session:
        user = create_user(
            session,
            email,
            "a long test password",
            role,
            actor="test",
            display_name=name,
            must_change_password=False,
        )
        return Staff(user.id, user.email, name, role == Role.SUPERVISOR)


def add_person(
    session: Session,
    *,
    name: str | None = "Mariam",
    language: str | None = "fr",
    channel: Channel = Channel.TELEGRAM,
    address: str = MARIAM_CHAT,
    last_inbound_at: datetime | None = None,
    fields: dict[str, object] | None = None,
) -> Contact:
    """A contact with one address, in this transaction."""
    now = clock.now()
    contact = Contact(
        created_at=now, fields=dict(fields or {}), language=language, display_name=name
    )
    contact.addresses.append(
        ContactAddress(
            channel=channel,
            address=address,
            created_at=now,
            last_inbound_at=last_inbound_at or now,
        )
    )
    session.add(contact)
    session.flush()
    return contact


def person(database: Database, **details: Any) -> int:
    """A contact with one address (see add_person), committed; returns their id."""
    with database.write() as session:
        return add_person(session, **details).id


def add_case(
    session: Session,
    contact_id: int,
    *,
    priority: Priority = Priority.NORMAL,
    reason: str = "asked_for_person",
    opened_at: datetime | None = None,
    category: str | None = None,
    summary: str | None = None,
) -> Case:
    """An open, unassigned case, in this transaction."""
    when = opened_at or clock.now()
    case = Case(
        contact_id=contact_id,
        queue="general",
        status=CaseStatus.OPEN,
        priority=priority,
        priority_rank=priority.rank,
        reason=reason,
        category=category,
        summary=summary,
        opened_at=when,
    )
    case.events.append(CaseEvent(kind="opened", created_at=when))
    session.add(case)
    session.flush()
    return case


def open_case(database: Database, contact_id: int, **details: Any) -> int:
    """An open, unassigned case (see add_case), committed; returns its id."""
    with database.write() as session:
        return add_case(session, contact_id, **details).id
