"""Filling a database fast, for tests and benchmarks that need thousands of rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from storage.db import Database
from storage.models import Contact, ContactAddress, Message, OutboxItem

FIRST_CHAT = 900000


def fill_outbox(
    database: Database, people: int, per_person: int, *, priority: int = 0, chunk: int = 20_000
) -> None:
    """`people` Telegram contacts with `per_person` queued messages each ("<chat> #<n>")."""
    for first in range(0, people, chunk):
        _fill(database, first, min(chunk, people - first), per_person, priority)


def _fill(database: Database, first: int, people: int, per_person: int, priority: int) -> None:
    now = datetime.now(UTC)
    with database.write() as session:
        contact_ids = session.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
            [{"created_at": now, "fields": {}, "consent": "given"} for _ in range(people)],
        ).all()
        address_ids = session.scalars(
            insert(ContactAddress).returning(ContactAddress.id, sort_by_parameter_order=True),
            [
                {
                    "contact_id": contact,
                    "channel": "telegram",
                    "address": str(FIRST_CHAT + first + n),
                    "created_at": now,
                }
                for n, contact in enumerate(contact_ids)
            ],
        ).all()
        rows = [
            {
                "contact_id": contact,
                "address_id": address,
                "direction": "out",
                "channel": "telegram",
                "kind": "flow",
                "text": f"{FIRST_CHAT + first + n} #{k}",
                "status": "queued",
                "created_at": now,
            }
            for k in range(per_person)
            for n, (contact, address) in enumerate(zip(contact_ids, address_ids, strict=True))
        ]
        message_ids = session.scalars(
            insert(Message).returning(Message.id, sort_by_parameter_order=True), rows
        ).all()
        session.execute(
            insert(OutboxItem),
            [
                {
                    "message_id": message_id,
                    "contact_id": row["contact_id"],
                    "channel": "telegram",
                    "priority": priority,
                    "due_at": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for message_id, row in zip(message_ids, rows, strict=True)
            ],
        )
