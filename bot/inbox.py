"""The inbox: stored messages, processed by the worker, each person's in the order sent.

Webhooks only verify and store (Reception.receive), so they answer at once
whatever the load; this task runs the conversation for what they stored. It takes the
oldest unprocessed message of each person: a person's second message is never looked at
while their first is still waiting. Any number of workers may run it — processing
locks the person and re-checks the message, so whoever comes second does nothing.

A message whose processing keeps failing is retried a few times, then handed to a
worker as a case, so it neither blocks that person's later messages nor gets lost.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import func, select

from bot import clock
from bot.conversation import ConversationService
from bot.effects import request_case
from storage.db import lost_connection
from storage.models import Contact, Direction, Message, MessageStatus, Priority

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
RETRY_AFTER_SECONDS = 10.0
UNPROCESSED_REASON = "unprocessed_message"


class Inbox:
    """Processes stored inbound messages; keeps a little memory of what keeps failing."""

    def __init__(
        self,
        service: ConversationService,
        *,
        concurrency: int = 4,
        retry_after: float = RETRY_AFTER_SECONDS,
    ) -> None:
        self.service = service
        self.retry_after = retry_after
        self._failures: dict[int, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="inbox")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_once(self, now: datetime | None = None, *, limit: int = 200) -> int:
        """Process the oldest waiting message of up to `limit` people; return how many."""
        heads = self._heads(limit)
        # Different people, so their messages can be processed side by side.
        return sum(self._pool.map(self._process, heads))

    def _heads(self, limit: int) -> list[int]:
        with self.service.database.read() as session:
            heads = session.scalars(
                select(func.min(Message.id))
                .where(Message.direction == Direction.IN, Message.status == MessageStatus.RECEIVED)
                .group_by(Message.contact_id)
                .order_by(func.min(Message.id))
                .limit(limit)
            ).all()
        now = time.monotonic()
        with self._lock:
            return [
                head
                for head in heads
                if head is not None and self._failures.get(head, (0, 0.0))[1] <= now
            ]

    def _process(self, message_id: int) -> int:
        try:
            self.service.process(message_id)
        except Exception as error:
            if lost_connection(error):
                # The database blinked; the message did not fail. The next pass does it
                # once, whether or not this one committed: processing re-checks the
                # message under the person's lock.
                log.warning("inbound message %s: database connection lost; next pass", message_id)
                return 0
            self._failed(message_id)
            return 0
        with self._lock:
            self._failures.pop(message_id, None)
        return 1

    def _failed(self, message_id: int) -> None:
        with self._lock:
            attempts = self._failures.get(message_id, (0, 0.0))[0] + 1
            self._failures[message_id] = (attempts, time.monotonic() + self.retry_after)
        if attempts < MAX_ATTEMPTS:
            log.exception(
                "inbound message %s failed (attempt %d); will retry", message_id, attempts
            )
            return
        log.exception("inbound message %s failed %d times; a worker gets it", message_id, attempts)
        give_up(self.service, message_id)
        with self._lock:
            self._failures.pop(message_id, None)


def give_up(service: ConversationService, message_id: int) -> None:
    """Stop trying: the message goes to a worker as a high-priority case."""
    now = clock.now()
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
