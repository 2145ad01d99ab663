"""Wait timeouts: reminders and "missed" for people who have not answered."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from bot.conversation import ConversationService
from storage.models import Conversation, RunStatus

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)


def expire_due_waits(service: ConversationService, now: datetime, *, limit: int = 200) -> int:
    """Claim runs whose wait is over and apply their timeouts; return how many."""
    database = service.database
    with database.write() as session:
        query = (
            select(Conversation.id, Conversation.contact_id)
            .where(
                Conversation.status == RunStatus.ACTIVE,
                Conversation.wait_until <= now,
                or_(Conversation.claimed_until.is_(None), Conversation.claimed_until < now),
            )
            .order_by(Conversation.wait_until)
            .limit(limit)
        )
        if database.is_postgresql:
            query = query.with_for_update(skip_locked=True)
        due = session.execute(query).all()
        if not due:
            return 0
        # A lease, so two workers never remind the same person twice; a crash lets it expire.
        session.execute(
            update(Conversation)
            .where(Conversation.id.in_([row.id for row in due]))
            .values(claimed_until=now + LEASE)
        )
    for row in due:
        try:
            service.expire_wait(row.contact_id, now)
        except Exception:
            log.exception("timeout of conversation %s failed; retried after the lease", row.id)
    return len(due)
