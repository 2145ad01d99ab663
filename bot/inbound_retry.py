"""Inbound messages whose processing failed: try again, then hand them to a person."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.conversation import ConversationService
from bot.effects import request_case
from storage.models import Contact, Direction, Message, MessageStatus, Priority

log = logging.getLogger(__name__)

# Younger messages may still be in the hands of the request that stored them.
GRACE = timedelta(minutes=1)
# After this, trying again is pointless: a worker reads the message instead.
GIVE_UP_AFTER = timedelta(hours=1)
UNPROCESSED_REASON = "unprocessed_message"


def retry_unprocessed(service: ConversationService, now: datetime, *, limit: int = 100) -> int:
    """Process stored messages that were never handled; give the old ones to a worker."""
    with service.database.read() as session:
        stuck = session.execute(
            select(Message.id, Message.created_at)
            .where(
                Message.direction == Direction.IN,
                Message.status == MessageStatus.RECEIVED,
                Message.created_at < now - GRACE,
            )
            .order_by(Message.id)
            .limit(limit)
        ).all()
    for row in stuck:
        if row.created_at < now - GIVE_UP_AFTER:
            _give_up(service, row.id, now)
            continue
        try:
            service.process(row.id)
        except Exception:
            log.exception("inbound message %s still cannot be processed", row.id)
    return len(stuck)


def _give_up(service: ConversationService, message_id: int, now: datetime) -> None:
    with service.database.write() as session:
        message = session.get(Message, message_id)
        if message is None or message.status != MessageStatus.RECEIVED:
            return
        message.status = MessageStatus.FAILED
        contact = session.get(Contact, message.contact_id) if message.contact_id else None
        if contact is None:
            return
        case = request_case(
            session,
            contact,
            now,
            queue="general",
            priority=Priority.HIGH,
            reason=UNPROCESSED_REASON,
            summary="A message could not be handled automatically: please read it.",
        )
        message.case_id = case.id
        log.error("inbound message %s handed to case %s", message_id, case.id)
