"""The outbox dispatcher: order, priority, retries, permanent failures, leases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import clock, outbox
from bot.channels.base import AddressProblem, ChannelError, Outbound, RateLimit, Sent
from bot.config import ConfigError, Settings
from bot.dispatch import Dispatcher, LeaseTooShort, backoff
from bot.tasks import build_background
from storage.db import Database
from storage.models import (
    Case,
    Channel,
    CheckinEnrolment,
    Contact,
    ContactAddress,
    Message,
    OutboxItem,
)

from .conftest import FrozenClock


class ScriptedAdapter:
    """Records what it sends; raises the errors it is given, in order, first."""

    channels: tuple[Channel, ...] = (Channel.TELEGRAM,)
    longest_send = 0.0

    def __init__(self, per_address: float | None = None) -> None:
        self.sent: list[Outbound] = []
        self.calls = 0
        self.errors: list[ChannelError] = []
        self.per_address = per_address
        self.closed = False
        self._lock = threading.Lock()

    def rate_limit(self, channel: Channel) -> RateLimit:
        return RateLimit(per_second=10_000.0, per_address_per_second=self.per_address)

    def send(self, outbound: Outbound) -> Sent:
        with self._lock:
            self.calls += 1
            if self.errors:
                raise self.errors.pop(0)
            self.sent.append(outbound)
            return Sent(provider_id=f"{outbound.address}:{len(self.sent)}")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def adapter() -> ScriptedAdapter:
    return ScriptedAdapter()


@pytest.fixture
def dispatcher(db: Database, adapter: ScriptedAdapter) -> Iterator[Dispatcher]:
    instance = Dispatcher(db, [adapter], worker_id="test-dispatcher", sleep=lambda _s: None)
    yield instance
    instance.close()


def _person(db: Database, chat: str, *, enrolled: bool = False) -> int:
    now = clock.now()
    with db.write() as session:
        contact = Contact(created_at=now, fields={})
        contact.addresses.append(
            ContactAddress(channel=Channel.TELEGRAM, address=chat, created_at=now)
        )
        session.add(contact)
        session.flush()
        if enrolled:
            session.add(
                CheckinEnrolment(
                    contact_id=contact.id,
                    channel=Channel.TELEGRAM,
                    language="fr",
                    timezone="Europe/Paris",
                    weekday=0,
                    minute_of_day=600,
                    created_at=now,
                    updated_at=now,
                )
            )
        return contact.id


def _queue(db: Database, contact_id: int, text: str, priority: int = 0) -> int:
    with db.write() as session:
        address = session.scalars(
            select(ContactAddress).where(ContactAddress.contact_id == contact_id)
        ).one()
        message = outbox.enqueue(session, address, text, clock.now(), priority=priority)
        return message.id


def _pending(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(OutboxItem)) or 0


def _drain(dispatcher: Dispatcher, clock_: FrozenClock | None = None, rounds: int = 20) -> None:
    for _ in range(rounds):
        if not dispatcher.run_once() and clock_ is None:
            return
        if clock_ is not None:
            clock_.advance(timedelta(hours=1))


def test_it_sends_and_records_the_provider_id(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    contact = _person(db, "1001")
    message_id = _queue(db, contact, "Bonjour")
    assert dispatcher.run_once() == 1
    assert [o.text for o in adapter.sent] == ["Bonjour"]
    with db.read() as session:
        message = session.get(Message, message_id)
        assert message is not None
        assert (message.status, message.provider_id) == ("sent", "1001:1")
        assert message.sent_at is not None
    assert _pending(db) == 0


def test_messages_to_one_person_leave_in_order(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    first, second = _person(db, "1001"), _person(db, "1002")
    for n in range(3):
        _queue(db, first, f"first {n}")
        _queue(db, second, f"second {n}")
    # One head of queue per person per batch: three batches for three messages each.
    assert dispatcher.run_once() == 2
    assert dispatcher.run_once() == 2
    assert dispatcher.run_once() == 2
    assert dispatcher.run_once() == 0
    to_first = [o.text for o in adapter.sent if o.address == "1001"]
    assert to_first == ["first 0", "first 1", "first 2"]


def test_a_danger_reply_overtakes_what_is_queued_for_the_person(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    contact = _person(db, "1001")
    _queue(db, contact, "check-in question")
    _queue(db, contact, "Call 3114 now", priority=outbox.PRIORITY_URGENT)
    _drain(dispatcher)
    assert [o.text for o in adapter.sent] == ["Call 3114 now", "check-in question"]


def test_a_transient_failure_is_retried_later_and_holds_the_queue(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter, frozen_clock: FrozenClock
) -> None:
    contact = _person(db, "1001")
    _queue(db, contact, "one")
    _queue(db, contact, "two")
    adapter.errors.append(ChannelError("429", permanent=False, retry_after=2.0))
    assert dispatcher.run_once() == 1
    assert adapter.sent == []
    # Not before the provider's retry_after, and message two waits behind message one.
    frozen_clock.advance(timedelta(seconds=1.5))
    assert dispatcher.run_once() == 0
    frozen_clock.advance(timedelta(minutes=10))
    _drain(dispatcher)
    assert [o.text for o in adapter.sent] == ["one", "two"]
    with db.read() as session:
        assert session.scalars(select(Message.status)).all() == ["sent", "sent"]


def test_a_permanent_failure_stops_retries_and_marks_the_address(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    contact = _person(db, "1001", enrolled=True)
    first = _queue(db, contact, "one")
    _queue(db, contact, "two")
    adapter.errors.append(
        ChannelError(
            "Forbidden: bot was blocked by the user",
            permanent=True,
            code="403",
            address_problem=AddressProblem.BLOCKED,
        )
    )
    _drain(dispatcher)
    assert adapter.sent == []
    with db.read() as session:
        messages = session.scalars(select(Message).order_by(Message.id)).all()
        address = session.scalars(select(ContactAddress)).one()
        case = session.scalars(select(Case)).one()
    assert messages[0].id == first
    assert (messages[0].status, messages[0].error_code) == ("failed", "403")
    # Nothing more is tried on a blocked address.
    assert (messages[1].status, messages[1].error_code) == ("failed", "skipped")
    assert address.unreachable_at is not None
    assert (case.reason, case.priority) == ("delivery_failure", "high")
    assert _pending(db) == 0


def test_nothing_is_sent_to_someone_who_opted_out_except_safety_replies(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    contact = _person(db, "1001")
    with db.write() as session:
        person = session.get(Contact, contact)
        assert person is not None
        person.opted_out_at = clock.now()
    _queue(db, contact, "weekly check-in")
    with db.write() as session:
        address = session.scalars(select(ContactAddress)).one()
        outbox.enqueue(session, address, "Call 3114", clock.now(), kind="safety")
    _drain(dispatcher)
    assert [o.text for o in adapter.sent] == ["Call 3114"]


def test_an_expired_lease_lets_another_dispatcher_take_the_row(
    db: Database, adapter: ScriptedAdapter, frozen_clock: FrozenClock
) -> None:
    contact = _person(db, "1001")
    _queue(db, contact, "hello")
    crashed = Dispatcher(db, [adapter], worker_id="crashed")
    survivor = Dispatcher(db, [adapter], worker_id="survivor")
    try:
        assert len(crashed.claim(clock.now())) == 1  # then it dies without sending
        assert survivor.run_once() == 0
        frozen_clock.advance(timedelta(minutes=2))
        assert survivor.run_once() == 1
    finally:
        crashed.close()
        survivor.close()
    assert [o.text for o in adapter.sent] == ["hello"]


def test_two_dispatchers_never_send_the_same_row(db: Database, adapter: ScriptedAdapter) -> None:
    for n in range(40):
        contact = _person(db, f"20{n:02d}")
        _queue(db, contact, f"message {n}")
        _queue(db, contact, f"follow-up {n}")
    dispatchers = [Dispatcher(db, [adapter], worker_id=f"d{i}", batch_size=7) for i in range(2)]

    def drain(dispatcher: Dispatcher) -> None:
        while dispatcher.run_once() or _pending(db):
            pass

    threads = [threading.Thread(target=drain, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for dispatcher in dispatchers:
        dispatcher.close()
    sent = [o.message_id for o in adapter.sent]
    assert len(sent) == 80
    assert len(set(sent)) == 80


def test_one_message_a_second_per_chat_postpones_instead_of_waiting(
    db: Database, frozen_clock: FrozenClock
) -> None:
    adapter = ScriptedAdapter(per_address=1.0)
    dispatcher = Dispatcher(db, [adapter], worker_id="slow-chat")
    contact = _person(db, "1001")
    _queue(db, contact, "one")
    _queue(db, contact, "two")
    try:
        dispatcher.run_once()
        dispatcher.run_once()
        assert [o.text for o in adapter.sent] == ["one"]
        with db.read() as session:
            due = session.scalars(select(OutboxItem.due_at)).one()
        assert due > clock.now()
    finally:
        dispatcher.close()


def test_closing_the_dispatcher_closes_its_adapters(
    dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    dispatcher.close()
    assert adapter.closed


@pytest.mark.parametrize("attempt", [1, 2, 5, 12])
def test_backoff_grows_and_honours_retry_after(attempt: int) -> None:
    delay = backoff(attempt)
    ceiling = min(3600.0, 2.0 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling
    assert backoff(attempt, retry_after=4000.0) == 4000.0


def test_a_message_to_an_on_call_worker_needs_no_contact(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    with db.write() as session:
        outbox.enqueue_to(
            session, Channel.TELEGRAM, "5550001", "Urgent case #3 waits", clock.now(), kind="alert"
        )
    assert dispatcher.run_once() == 1
    assert [(o.address, o.text) for o in adapter.sent] == [("5550001", "Urgent case #3 waits")]


class OneASecond(ScriptedAdapter):
    """An SMS long code: one message a second."""

    def rate_limit(self, channel: Channel) -> RateLimit:
        return RateLimit(per_second=1.0)


def test_a_slow_channel_claims_one_second_of_work_and_urgent_rows_skip_the_queue(
    db: Database,
) -> None:
    adapter = OneASecond()
    slept: list[float] = []
    dispatcher = Dispatcher(db, [adapter], worker_id="long-code", sleep=slept.append)
    for n in range(3):
        _queue(db, _person(db, f"30{n}"), f"check-in {n}", priority=outbox.PRIORITY_BULK)
    _queue(db, _person(db, "399"), "Call 3114", priority=outbox.PRIORITY_URGENT)
    try:
        assert dispatcher.run_once() == 1
        assert [o.text for o in adapter.sent] == ["Call 3114"]
        assert slept == []  # the urgent reply did not wait for the rate limit
        assert dispatcher.run_once() == 1
        assert dispatcher.run_once() == 1
        # Bulk rows keep to one a second.
        assert len(slept) >= 1
    finally:
        dispatcher.close()


def test_the_urgent_lane_sends_danger_replies_and_nothing_else(
    db: Database, dispatcher: Dispatcher, adapter: ScriptedAdapter
) -> None:
    for n in range(5):
        _queue(db, _person(db, f"40{n}"), f"check-in {n}", priority=outbox.PRIORITY_BULK)
    _queue(db, _person(db, "499"), "Call 3114", priority=outbox.PRIORITY_URGENT)
    assert dispatcher.run_urgent() == 1
    assert dispatcher.run_urgent() == 0
    assert [o.text for o in adapter.sent] == ["Call 3114"]
    assert _pending(db) == 5  # the wave is left to the ordinary lane


def test_a_429_pauses_the_whole_channel_for_as_long_as_the_provider_asked(
    db: Database, adapter: ScriptedAdapter, frozen_clock: FrozenClock
) -> None:
    # Before, each message backed off alone and the next ones kept asking the provider
    # that had said "too many requests" (400 refusals in 8 s in the audit).
    dispatcher = Dispatcher(
        db, [adapter], worker_id="throttled", concurrency=1, sleep=lambda _s: None
    )
    people = [_person(db, f"40{n:02d}") for n in range(10)]
    for contact in people:
        _queue(db, contact, "Bonjour")
    adapter.errors = [
        ChannelError("Too Many Requests", permanent=False, retry_after=30.0, throttled=True)
    ]
    try:
        dispatcher.run_once()
        assert adapter.calls == 1  # the other nine were not tried
        frozen_clock.advance(timedelta(seconds=20))
        while dispatcher.run_once():
            pass
        assert adapter.calls == 1  # still within the 30 s asked for
        frozen_clock.advance(timedelta(seconds=15))
        _drain(dispatcher)
    finally:
        dispatcher.close()
    assert len(adapter.sent) == 10
    assert adapter.calls == 11
    with db.read() as session:
        # Waiting for the channel is not a failed attempt of the messages that waited.
        assert _pending(db) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == 10


def test_a_429_without_retry_after_pauses_the_channel_a_moment(
    db: Database, adapter: ScriptedAdapter, frozen_clock: FrozenClock
) -> None:
    dispatcher = Dispatcher(db, [adapter], worker_id="throttled", concurrency=1)
    for n in range(3):
        _queue(db, _person(db, f"41{n:02d}"), "Bonjour")
    adapter.errors = [ChannelError("429", permanent=False, throttled=True)]
    try:
        dispatcher.run_once()
        frozen_clock.advance(timedelta(seconds=0.5))
        dispatcher.run_once()
        assert adapter.calls == 1  # a second's pause
        frozen_clock.advance(timedelta(seconds=0.6))
        _drain(dispatcher)
        assert {o.address for o in adapter.sent} >= {"4101", "4102"}
        frozen_clock.advance(timedelta(seconds=2))  # the refused one's own backoff
        _drain(dispatcher)
    finally:
        dispatcher.close()
    assert len(adapter.sent) == 3


class Slow(ScriptedAdapter):
    """A provider whose answer may take up to 50 s (the Telegram adapter's own limit)."""

    longest_send = 50.0


def test_a_lease_shorter_than_the_slowest_send_is_refused(db: Database) -> None:
    with pytest.raises(LeaseTooShort, match="50 s"):
        Dispatcher(db, [Slow()], lease=timedelta(seconds=30))
    Dispatcher(db, [Slow()], lease=timedelta(seconds=60)).close()


def test_a_row_whose_lease_could_end_mid_send_goes_back_to_the_queue(
    db: Database, frozen_clock: FrozenClock
) -> None:
    slow = Slow()
    dispatcher = Dispatcher(db, [slow], worker_id="slow", lease=timedelta(seconds=60))
    _queue(db, _person(db, "4200"), "Bonjour")
    try:
        claimed = dispatcher.claim(clock.now())
        # The row waited 15 s for its turn: 45 s of lease left, a send may take 50.
        frozen_clock.advance(timedelta(seconds=15))
        for row in claimed:
            dispatcher._deliver(row)
        assert slow.calls == 0
        with db.read() as session:
            item = session.scalars(select(OutboxItem)).one()
        assert item.claimed_by is None
        assert item.attempts == 0
        _drain(dispatcher)
    finally:
        dispatcher.close()
    assert [o.text for o in slow.sent] == ["Bonjour"]


def test_the_worker_refuses_to_start_with_a_lease_shorter_than_telegram_may_take(
    settings: Settings, db: Database
) -> None:
    configured = settings.with_overrides(
        {"telegram_bot_token": "123:abc", "dispatch_lease_seconds": 30.0}
    )
    with pytest.raises(ConfigError, match="RELAIS_DISPATCH_LEASE_SECONDS"):
        build_background(configured, db)
