"""Writing outbound messages: a message row and its outbox row, in the caller's transaction.

Nothing here talks to a provider. The dispatcher in the worker sends outbox rows after
the transaction that wrote them has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

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
        contact_id=address.contact_id,
        address_id=address.id,
        conversation_id=conversation_id,
        case_id=case_id,
        author_id=author_id,
        direction=Direction.OUT,
        channel=address.channel,
        kind=kind,
        text=text,
        payload={"choices": list(choices)} if choices else None,
        status=MessageStatus.QUEUED,
        created_at=now,
    )
    session.add(message)
    session.flush()
    session.add(
        OutboxItem(
            message_id=message.id,
            contact_id=address.contact_id,
            channel=address.channel,
            priority=priority,
            due_at=now,
            created_at=now,
        )
    )
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
