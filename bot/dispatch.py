"""The outbox dispatcher: claims due rows atomically, sends them, records what happened.

Claiming takes a lease (`claimed_until`): a dispatcher that dies mid-send loses nothing,
its rows become claimable again when the lease expires. Only the head of each person's
queue is claimable — the row with the highest priority, then the oldest — so message 2
never leaves before message 1, while a danger reply overtakes everything queued behind
it. The provider is called outside any transaction; each result is recorded in its own
short transaction, so a crash re-sends at most what was in flight.
"""

from __future__ import annotations

import logging
import math
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, delete, exists, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, aliased

from bot import clock, outbox
from bot.channels.base import ChannelAdapter, ChannelError, Outbound, RateLimit
from bot.delivery import mark_address
from bot.ratelimit import KeyedLimiter, TokenBucket
from storage.db import Database
from storage.models import Channel, Contact, ContactAddress, Message, MessageStatus, OutboxItem

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12  # about a day of backoff before a message is given up
BASE_BACKOFF = 2.0
MAX_BACKOFF = 3600.0
# How long a channel waits after "too many requests" that did not say how long.
THROTTLED_PAUSE = timedelta(seconds=1)
# Sent even to someone who opted out: safety replies, and the confirmation of STOP itself.
ALWAYS_DELIVERED_KINDS = frozenset({"safety", "opt_out"})


def backoff(
    attempt: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds before the next try: exponential with full jitter, never sooner than asked."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** (attempt - 1))
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


class LeaseTooShort(ValueError):
    """The lease would end before a slow send does: another dispatcher could send the row
    again while the first is still waiting for the provider."""


@dataclass(frozen=True)
class Claimed:
    """An outbox row claimed by this dispatcher, with what the adapter needs."""

    outbox_id: int
    token: str
    outbound: Outbound
    attempts: int
    urgent: bool
    claimed_until: datetime
    # None: deliverable. Otherwise why the row is dropped without sending.
    skip_reason: str | None


class Dispatcher:
    """Sends the outbox through the channel adapters, at the rates they accept."""

    def __init__(
        self,
        database: Database,
        adapters: Sequence[ChannelAdapter],
        *,
        worker_id: str | None = None,
        batch_size: int = 50,
        concurrency: int = 4,
        lease: timedelta = LEASE,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.database = database
        self.adapters: dict[str, ChannelAdapter] = {
            channel: adapter for adapter in adapters for channel in adapter.channels
        }
        slowest = max((adapter.longest_send for adapter in adapters), default=0.0)
        if lease.total_seconds() <= slowest:
            raise LeaseTooShort(
                f"a lease of {lease.total_seconds():g} s ends before the slowest send "
                f"({slowest:g} s) could: choose more than {slowest:g} s"
            )
        # Stored in a 64-character column.
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}")[:64]
        self.batch_size = batch_size
        self.lease = lease
        self._sleep = sleep
        # Channels whose provider said "too many requests", until when they wait.
        self._throttled_until: dict[str, datetime] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._per_address: dict[str, KeyedLimiter] = {}
        for channel, adapter in self.adapters.items():
            limit: RateLimit = adapter.rate_limit(Channel(channel))
            self._buckets[channel] = TokenBucket(limit.per_second)
            if limit.per_address_per_second:
                self._per_address[channel] = KeyedLimiter(limit.per_address_per_second)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="dispatch")

    def close(self) -> None:
        """Stop the sending threads and the adapters."""
        self._pool.shutdown(wait=True)
        for adapter in set(self.adapters.values()):
            adapter.close()

    def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch of due rows and send it; return how many rows were handled."""
        now = now or clock.now()
        claimed = self.claim(now)
        if not claimed:
            return 0
        # Rows of one batch belong to different people (one head per person), so they can
        # go out in parallel without breaking anyone's order.
        list(self._pool.map(self._deliver, claimed))
        return len(claimed)

    def run_urgent(self, now: datetime | None = None) -> int:
        """Send only urgent rows (danger replies), on the caller's thread.

        The worker runs this as its own task: however long a pass of a check-in wave
        takes at the operator's pace, a danger reply never waits behind it.
        """
        claimed = self.claim(now or clock.now(), urgent_only=True)
        for row in claimed:
            self._deliver(row)
        return len(claimed)

    # --- claiming ---

    def claim(self, now: datetime, *, urgent_only: bool = False) -> list[Claimed]:
        """Atomically lease up to `batch_size` deliverable heads of queue."""
        if not self.adapters:
            return []
        # Each claim has its own token: a row taken over after its lease expired (by
        # another process or this process's other lane) is never recorded twice.
        token = f"{self.worker_id[:54]}:{uuid.uuid4().hex[:9]}"

        def take(session: Session) -> list[Claimed]:
            ids = [
                outbox_id
                for channel in self.adapters
                if self._throttled(channel, now) is None
                for outbox_id in session.scalars(
                    self._claimable(now, channel, urgent_only=urgent_only)
                )
            ]
            if not ids:
                return []
            # Conditional: on SQLite the IMMEDIATE transaction already excludes other
            # claimers; the condition keeps it correct anywhere.
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids), _unclaimed(now))
                .values(claimed_until=now + self.lease, claimed_by=token)
                .execution_options(synchronize_session=False)
            )
            rows = session.execute(
                select(OutboxItem, Message, ContactAddress, Contact)
                .join(Message, Message.id == OutboxItem.message_id)
                .join(ContactAddress, ContactAddress.id == Message.address_id, isouter=True)
                .join(Contact, Contact.id == OutboxItem.contact_id, isouter=True)
                .where(OutboxItem.id.in_(ids), OutboxItem.claimed_by == token)
            ).all()
            return [
                Claimed(
                    outbox_id=item.id,
                    token=token,
                    outbound=Outbound(
                        message_id=message.id,
                        channel=Channel(message.channel),
                        address=address.address if address else _staff_address(message),
                        text=message.text or "",
                        choices=tuple((message.payload or {}).get("choices", ())),
                    ),
                    attempts=item.attempts,
                    urgent=item.priority >= outbox.PRIORITY_URGENT,
                    claimed_until=now + self.lease,
                    skip_reason=_skip_reason(message, address, contact),
                )
                for item, message, address, contact in rows
            ]

        # A claim committed on a connection lost during COMMIT only delays its rows until
        # the lease ends: taking others meanwhile is safe.
        return self.database.write_retrying(take, replay_safe=True)

    def _claim_limit(self, channel: str) -> int:
        # A quarter of a second of sending per pass: a rate-limited channel never sits on
        # a long claimed batch (and passes stay short enough to notice new work).
        return max(1, min(self.batch_size, math.ceil(self._buckets[channel].rate / 4)))

    def _claimable(
        self, now: datetime, channel: str, *, urgent_only: bool = False
    ) -> Select[tuple[int]]:
        ahead = aliased(OutboxItem)
        # Another row of the same person goes first: it has a higher priority, or the same
        # priority and is older, or it is in flight right now.
        blocked_by = exists().where(
            ahead.contact_id == OutboxItem.contact_id,
            ahead.id != OutboxItem.id,
            or_(
                ahead.priority > OutboxItem.priority,
                and_(ahead.priority == OutboxItem.priority, ahead.id < OutboxItem.id),
                ahead.claimed_until > now,
            ),
        )
        query = (
            select(OutboxItem.id)
            .where(
                OutboxItem.due_at <= now,
                OutboxItem.channel == channel,
                _unclaimed(now),
                ~blocked_by,
                *((OutboxItem.priority >= outbox.PRIORITY_URGENT,) if urgent_only else ()),
            )
            .order_by(OutboxItem.priority.desc(), OutboxItem.due_at, OutboxItem.id)
            .limit(self._claim_limit(channel))
        )
        if self.database.is_postgresql:
            # Rows another dispatcher is claiming right now are skipped, not waited for.
            query = query.with_for_update(of=OutboxItem, skip_locked=True)
        return query

    # --- sending ---

    def _deliver(self, claimed: Claimed) -> None:
        try:
            self._deliver_one(claimed)
        except Exception:
            # Never let one row kill the batch; the lease makes it claimable again later.
            log.exception("unexpected error delivering outbox row %s", claimed.outbox_id)

    def _deliver_one(self, claimed: Claimed) -> None:
        outbound = claimed.outbound
        if claimed.skip_reason is not None:
            self._finish(claimed, MessageStatus.FAILED, error=("skipped", claimed.skip_reason))
            return
        now = clock.now()
        if now + timedelta(seconds=self.adapters[outbound.channel].longest_send) > (
            claimed.claimed_until
        ):
            # It waited too long for its turn in the batch: were the provider slow now,
            # the lease could end mid-send and another dispatcher send it too.
            self._postpone(claimed, 0.0, error=None, count_attempt=False)
            return
        throttled = self._throttled(outbound.channel, now)
        if throttled is not None:
            # The provider asked the whole channel to slow down: not one more request
            # before the time it gave.
            self._postpone(claimed, throttled, error=None, count_attempt=False)
            return
        per_address = self._per_address.get(outbound.channel)
        if per_address is not None:
            wait = per_address.wait_for(outbound.address)
            if wait > 0:
                # Not this person's turn yet (e.g. Telegram: one message a second per chat).
                self._postpone(claimed, wait, error=None, count_attempt=False)
                return
        if not claimed.urgent:
            # A danger reply is never held back by our rate limit: sending at the
            # operator's pace is what keeps their queue empty for it.
            self._buckets[outbound.channel].acquire(self._sleep)
        adapter = self.adapters[outbound.channel]
        try:
            sent = adapter.send(outbound)
        except ChannelError as error:
            self._failed(claimed, error)
            return
        self._finish(claimed, MessageStatus.SENT, provider_id=sent.provider_id)

    def _throttled(self, channel: str, now: datetime) -> float | None:
        """Seconds the channel still waits after a "too many requests"; None: not waiting."""
        until = self._throttled_until.get(channel)
        if until is None or until <= now:
            return None
        return (until - now).total_seconds()

    def _failed(self, claimed: Claimed, error: ChannelError) -> None:
        if error.throttled:
            pause = timedelta(seconds=error.retry_after) if error.retry_after else THROTTLED_PAUSE
            until = clock.now() + pause
            channel = claimed.outbound.channel
            # Several rows in flight may each be told; the latest deadline holds.
            self._throttled_until[channel] = max(until, self._throttled_until.get(channel, until))
            log.warning(
                "%s: the provider asked to slow down; pausing %.1f s",
                channel,
                pause.total_seconds(),
            )
        attempt = claimed.attempts + 1
        detail = str(error)[:500]
        if not error.permanent and attempt < MAX_ATTEMPTS:
            delay = backoff(attempt, error.retry_after)
            log.warning(
                "message %s: transient failure (%s), retry %d in %.1f s",
                claimed.outbound.message_id,
                detail,
                attempt,
                delay,
            )
            self._postpone(claimed, delay, error=detail, count_attempt=True)
            return
        log.warning("message %s: giving up: %s", claimed.outbound.message_id, detail)
        self._finish(
            claimed,
            MessageStatus.FAILED,
            error=(error.code or ("permanent" if error.permanent else "retries"), detail),
            problem=error,
        )

    def _postpone(
        self, claimed: Claimed, delay: float, *, error: str | None, count_attempt: bool
    ) -> None:
        now = clock.now()
        values: dict[str, object] = {
            "due_at": now + timedelta(seconds=delay),
            "claimed_until": None,
            "claimed_by": None,
        }
        if count_attempt:
            values["attempts"] = OutboxItem.attempts + 1
        if error is not None:
            values["last_error"] = error
        # Conditional on our claim: run again after a lost connection, it changes nothing
        # if the first run committed.
        self.database.write_retrying(
            lambda session: session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == claimed.outbox_id, OutboxItem.claimed_by == claimed.token)
                .values(**values)
            ),
            replay_safe=True,
        )

    def _finish(
        self,
        claimed: Claimed,
        status: MessageStatus,
        *,
        provider_id: str | None = None,
        error: tuple[str, str] | None = None,
        problem: ChannelError | None = None,
    ) -> None:
        now = clock.now()

        def record(session: Session) -> None:
            deleted = session.execute(
                delete(OutboxItem).where(
                    OutboxItem.id == claimed.outbox_id,
                    OutboxItem.claimed_by == claimed.token,
                )
            )
            removed = cast("CursorResult[Any]", deleted).rowcount
            if not removed:
                # Our lease expired and another dispatcher took the row over (its result
                # counts, not ours), or a first try of this recording had committed.
                log.warning("outbox row %s was taken over; not recording", claimed.outbox_id)
                return
            if status is MessageStatus.SENT:
                # The common case, on every message sent: one plain UPDATE, no ORM load.
                session.execute(
                    update(Message)
                    .where(Message.id == claimed.outbound.message_id)
                    .values(status=status, sent_at=now, provider_id=provider_id)
                )
                return
            message = session.get(Message, claimed.outbound.message_id)
            if message is None:
                return
            _record_failure(message, status, error)
            if problem is not None and problem.address_problem is not None:
                address = session.get(ContactAddress, message.address_id)
                if address is not None:
                    detail = error[1] if error else str(problem)
                    mark_address(session, address, problem.address_problem, now, detail=detail)

        # The provider has the message now: losing the connection here must not leave the
        # row claimed, to be sent again when the lease ends. Deleting the row under our
        # claim makes a second run a no-op if the first committed.
        self.database.write_retrying(record, replay_safe=True)


def _record_failure(message: Message, status: MessageStatus, error: tuple[str, str] | None) -> None:
    message.status = status
    if error is not None:
        message.error_code, message.error_detail = error[0][:16], error[1][:500]


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now)


def _staff_address(message: Message) -> str:
    # Messages to on-call workers carry their address; they belong to no contact.
    return str((message.payload or {}).get("to") or "")


def _skip_reason(
    message: Message, address: ContactAddress | None, contact: Contact | None
) -> str | None:
    if address is None or contact is None:
        return None if _staff_address(message) else "no address"
    if message.kind in ALWAYS_DELIVERED_KINDS:
        return None
    if contact.opted_out_at is not None:
        return "opted out"
    if address.unreachable_at is not None:
        return f"address unreachable ({address.unreachable_reason})"
    return None
