"""Writing outbound messages: a message row and its outbox row, in the caller's transaction.

Nothing here talks to a provider. The dispatcher in the worker sends outbox rows after
the transaction that wrote them has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from bot import envelope
from storage.models import (
    Channel,
    ContactAddress,
    Direction,
    Message,
    MessageStatus,
    OutboxItem,
)

# Outbox priorities: a higher number leaves first.
PRIORITY_NORMAL = 0
PRIORITY_BULK = -1  # check-in waves, so they never hold up a conversation
PRIORITY_URGENT = 10  # danger replies


@dataclass(frozen=True)
class Outgoing:
    """One message of a bulk enqueue."""

    address: ContactAddress
    text: str
    choices: Sequence[str] = ()
    conversation_id: int | None = None


def _message_values(
    address: ContactAddress,
    text: str,
    now: datetime,
    *,
    choices: Sequence[str],
    kind: str,
    conversation_id: int | None,
    case_id: int | None = None,
    author_id: int | None = None,
) -> dict[str, Any]:
    return {
        "contact_id": address.contact_id,
        "address_id": address.id,
        "conversation_id": conversation_id,
        "case_id": case_id,
        "author_id": author_id,
        "direction": Direction.OUT,
        "channel": address.channel,
        "kind": kind,
        "text": text,
        "payload": {"choices": list(choices)} if choices else None,
        "status": MessageStatus.QUEUED,
        "created_at": now,
    }


def _outbox_values(
    message_id: int, address: ContactAddress, now: datetime, priority: int
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "contact_id": address.contact_id,
        "channel": address.channel,
        "priority": priority,
        "due_at": now,
        "attempts": 0,
        "created_at": now,
    }


def enqueue_many(
    session: Session,
    items: Sequence[Outgoing],
    now: datetime,
    *,
    kind: str = "flow",
    priority: int = PRIORITY_NORMAL,
) -> list[int]:
    """Queue many messages with two bulk inserts (a check-in wave); return their ids."""
    if not items:
        return []
    # Bulk inserts pass no flush: each person's key is handed over here (bot.envelope).
    keys = envelope.keys_for(session, {item.address.contact_id for item in items})
    ids = list(
        session.scalars(
            insert(Message).returning(Message.id, sort_by_parameter_order=True),
            [
                _message_values(
                    item.address,
                    envelope.owned(item.text, keys.get(item.address.contact_id)),
                    now,
                    choices=item.choices,
                    kind=kind,
                    conversation_id=item.conversation_id,
                )
                for item in items
            ],
        )
    )
    session.execute(
        insert(OutboxItem),
        [
            _outbox_values(message_id, item.address, now, priority)
            for message_id, item in zip(ids, items, strict=True)
        ],
    )
    return ids


def enqueue(
    session: Session,
    address: ContactAddress,
    text: str,
    now: datetime,
    *,
    choices: Sequence[str] = (),
    kind: str = "flow",
    priority: int = PRIORITY_NORMAL,
    conversation_id: int | None = None,
    case_id: int | None = None,
    author_id: int | None = None,
) -> Message:
    """Queue `text` (with its choices) for `address`; return the outbound message."""
    message = Message(
        **_message_values(
            address,
            text,
            now,
            choices=choices,
            kind=kind,
            conversation_id=conversation_id,
            case_id=case_id,
            author_id=author_id,
        )
    )
    session.add(message)
    session.flush()
    session.add(OutboxItem(**_outbox_values(message.id, address, now, priority)))
    return message


def enqueue_to(
    session: Session,
    channel: Channel,
    to: str,
    text: str,
    now: datetime,
    *,
    kind: str,
    priority: int = PRIORITY_NORMAL,
    case_id: int | None = None,
) -> Message:
    """Queue `text` for an address that belongs to no contact (an on-call worker's phone)."""
    message = Message(
        direction=Direction.OUT,
        channel=channel,
        kind=kind,
        text=text,
        case_id=case_id,
        payload={"to": to},
        status=MessageStatus.QUEUED,
        created_at=now,
    )
    session.add(message)
    session.flush()
    session.add(
        OutboxItem(
            message_id=message.id,
            channel=channel,
            priority=priority,
            due_at=now,
            created_at=now,
        )
    )
    return message


def mark_shown(session: Session, messages: Sequence[Message], now: datetime) -> None:
    """The simulator showed these messages on screen: they are delivered, nothing to send."""
    for message in messages:
        message.status = MessageStatus.DELIVERED
        message.sent_at = message.delivered_at = now
    session.execute(delete(OutboxItem).where(OutboxItem.message_id.in_([m.id for m in messages])))
