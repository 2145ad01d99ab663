"""On-call alerts: an urgent case nobody claims alerts the on-call workers, once, then once more."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import alerts, clock, outbox, sms
from bot.config import ConfigError, OnCallAddress, Settings
from bot.dispatch import Dispatcher
from bot.tasks import build_background, channel_adapters
from storage.db import Database
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    Message,
    OutboxItem,
    Priority,
)

from .cases.builders import add_case, add_person
from .conftest import FrozenClock
from .fakes.telegram import FakeTelegram
from .fakes.twilio import FakeTwilio

PUBLIC_URL = "https://relais.example.org"
ON_CALL = (OnCallAddress("sms", "+33639980001"), OnCallAddress("telegram", "5550001"))
# What the person wrote and their number: never in an alert.
PERSON_NUMBER = "+33612345678"
PERSON_WORDS = "je veux en finir ce soir"


@dataclass(frozen=True)
class Alert:
    """An alert as queued: where it goes and what it says."""

    channel: str
    to: str
    text: str
    case_id: int | None
    # None once sent: the outbox row is gone.
    priority: int | None


@pytest.fixture
def on_call(settings: Settings) -> Settings:
    """Two on-call workers, one by SMS and one on Telegram, and the dashboard's address."""
    return settings.with_overrides({"oncall": ON_CALL, "public_url": PUBLIC_URL})


def _add_case(
    session: Session,
    *,
    priority: Priority = Priority.URGENT,
    reason: str = "danger",
    category: str | None = "suicide",
    number: str = PERSON_NUMBER,
    channel: Channel = Channel.SMS,
) -> Case:
    """A person at `number` and an open case for them (danger by default), here."""
    contact = add_person(session, name="Samira", channel=channel, address=number)
    return add_case(
        session,
        contact.id,
        priority=priority,
        reason=reason,
        category=category,
        summary=PERSON_WORDS,
    )


def _urgent_case(db: Database, **kwargs: Any) -> int:
    """The id of a new open case (see _add_case), committed."""
    with db.write() as session:
        return _add_case(session, **kwargs).id


def _set_status(db: Database, case_id: int, status: CaseStatus) -> None:
    with db.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.status = status
        if status is CaseStatus.CLAIMED:
            case.claimed_at = clock.now()
        else:
            case.closed_at = clock.now()


def _alerts(db: Database) -> list[Alert]:
    with db.read() as session:
        rows = session.execute(
            select(Message, OutboxItem.priority)
            .join(OutboxItem, OutboxItem.message_id == Message.id, isouter=True)
            .where(Message.kind == "alert")
            .order_by(Message.id)
        ).all()
    return [
        Alert(m.channel, (m.payload or {})["to"], m.text or "", m.case_id, priority)
        for m, priority in rows
    ]


def _alerts_sent(db: Database, case_id: int) -> int:
    with db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.alerts_sent


def _run_until(
    db: Database, settings: Settings, clock_: FrozenClock, minutes: float, step: float = 0.5
) -> None:
    """Run the task every `step` minutes, as the worker does, until `minutes` from now."""
    end = clock.now() + timedelta(minutes=minutes)
    while clock.now() < end:
        alerts.alert_unclaimed(db, settings, clock.now())
        clock_.advance(timedelta(minutes=step))


# --- the worker task ---


def test_an_urgent_case_unclaimed_past_its_limit_sends_exactly_one_alert_per_on_call_address(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    case_id = _urgent_case(db)
    frozen_clock.advance(timedelta(minutes=14, seconds=59))
    assert alerts.alert_unclaimed(db, on_call, clock.now()) == 0
    assert _alerts(db) == []
    frozen_clock.advance(timedelta(seconds=1))
    assert alerts.alert_unclaimed(db, on_call, clock.now()) == 1
    # Every 30 seconds until just before the reminder is due: nothing more.
    _run_until(db, on_call, frozen_clock, minutes=44.5)
    sent = _alerts(db)
    assert [(a.channel, a.to) for a in sent] == [("sms", "+33639980001"), ("telegram", "5550001")]
    assert {a.case_id for a in sent} == {case_id}
    assert {a.priority for a in sent} == {outbox.PRIORITY_URGENT}
    assert sent[0].text == (
        f"Relais : cas urgent #{case_id} (danger, suicide) non pris en charge depuis 15 min. "
        f"{PUBLIC_URL}/queue/cases/{case_id}"
    )
    assert _alerts_sent(db, case_id) == 1


def test_the_reminder_goes_after_the_longer_delay_and_never_a_third(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    case_id = _urgent_case(db)
    _run_until(db, on_call, frozen_clock, minutes=60)
    assert alerts.alert_unclaimed(db, on_call, clock.now()) == 1
    _run_until(db, on_call, frozen_clock, minutes=24 * 60, step=7)
    texts = [a.text for a in _alerts(db)]
    assert len(texts) == 4
    assert texts[2] == texts[3]
    assert texts[2].startswith(f"Relais, rappel : cas urgent #{case_id} (danger, suicide)")
    assert "toujours non pris en charge depuis 1 h 00." in texts[2]
    assert _alerts_sent(db, case_id) == 2
    with db.read() as session:
        events = session.scalars(
            select(CaseEvent).where(CaseEvent.kind == "alerted").order_by(CaseEvent.id)
        ).all()
    assert [e.data for e in events] == [
        {"alert": 1, "recipients": 2},
        {"alert": 2, "recipients": 2},
    ]


@pytest.mark.parametrize("status", [CaseStatus.CLAIMED, CaseStatus.CLOSED])
def test_a_case_claimed_or_closed_before_its_limit_alerts_nobody(
    db: Database, on_call: Settings, frozen_clock: FrozenClock, status: CaseStatus
) -> None:
    case_id = _urgent_case(db)
    frozen_clock.advance(timedelta(minutes=14))
    _set_status(db, case_id, status)
    _run_until(db, on_call, frozen_clock, minutes=3 * 60)
    assert _alerts(db) == []


def test_a_case_claimed_after_the_first_alert_gets_no_reminder(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    case_id = _urgent_case(db)
    _run_until(db, on_call, frozen_clock, minutes=20)
    _set_status(db, case_id, CaseStatus.CLAIMED)
    _run_until(db, on_call, frozen_clock, minutes=3 * 60)
    assert len(_alerts(db)) == 2


@pytest.mark.parametrize("priority", [Priority.HIGH, Priority.NORMAL, Priority.LOW])
def test_cases_that_are_not_urgent_alert_nobody(
    db: Database, on_call: Settings, frozen_clock: FrozenClock, priority: Priority
) -> None:
    _urgent_case(db, priority=priority, reason="asked_for_person", category=None)
    _run_until(db, on_call, frozen_clock, minutes=3 * 60, step=5)
    assert _alerts(db) == []


def test_the_delays_come_from_the_settings(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    quick = on_call.with_overrides(
        {"oncall_first_alert_minutes": 5, "oncall_second_alert_minutes": 10}
    )
    _urgent_case(db)
    frozen_clock.advance(timedelta(minutes=5))
    assert alerts.alert_unclaimed(db, quick, clock.now()) == 1
    frozen_clock.advance(timedelta(minutes=5))
    assert alerts.alert_unclaimed(db, quick, clock.now()) == 1


def test_after_a_worker_outage_the_reminder_keeps_its_spacing(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    # Both delays passed while no worker ran: the first alert now, the reminder only
    # 45 minutes (second delay - first delay) later, not at the next pass.
    _urgent_case(db)
    frozen_clock.advance(timedelta(hours=3))
    _run_until(db, on_call, frozen_clock, minutes=44.5)
    assert len(_alerts(db)) == 2
    _run_until(db, on_call, frozen_clock, minutes=1)
    texts = [a.text for a in _alerts(db)]
    assert len(texts) == 4
    assert "depuis 3 h 45." in texts[2]


# --- several workers ---


def test_two_workers_that_both_saw_the_case_due_alert_once(
    db: Database, on_call: Settings, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _urgent_case(db)
    frozen_clock.advance(timedelta(minutes=16))
    now = clock.now()
    # Both workers read the due cases before either claims: the race the UPDATE settles.
    both_read = threading.Barrier(2, timeout=10)
    read_due = alerts._due_cases

    def read_then_wait(database: Database, settings: Settings, at: datetime) -> list[alerts._Due]:
        due = read_due(database, settings, at)
        both_read.wait()
        return due

    monkeypatch.setattr(alerts, "_due_cases", read_then_wait)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(alerts.alert_unclaimed(db, on_call, now))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [0, 1]
    assert len(_alerts(db)) == len(ON_CALL)
    assert _alerts_sent(db, case_id) == 1


def test_many_workers_running_the_task_at_once_alert_once_per_case(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    cases = [_urgent_case(db, number=f"+336000000{n:02d}") for n in range(10)]
    frozen_clock.advance(timedelta(minutes=20))
    now = clock.now()
    start = threading.Barrier(4, timeout=10)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            for _ in range(5):
                alerts.alert_unclaimed(db, on_call, now)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    sent = _alerts(db)
    assert len(sent) == len(cases) * len(ON_CALL)
    assert {a.case_id for a in sent} == set(cases)


# --- the safety path ---


def test_alert_now_alerts_at_once_and_counts_as_the_first_alert(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    case_id = _urgent_case(db)
    with db.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert alerts.alert_now(session, case, clock.now(), settings=on_call)
        assert case.alerts_sent == 1
    sent = _alerts(db)
    assert len(sent) == len(ON_CALL)
    assert sent[0].text == (
        f"Relais : nouveau cas urgent #{case_id} (danger, suicide), à prendre en charge. "
        f"{PUBLIC_URL}/queue/cases/{case_id}"
    )
    # No second "first" alert at 15 minutes; the reminder at 60.
    _run_until(db, on_call, frozen_clock, minutes=59.5)
    assert len(_alerts(db)) == 2
    _run_until(db, on_call, frozen_clock, minutes=1)
    assert len(_alerts(db)) == 4
    assert _alerts_sent(db, case_id) == 2


def test_alert_now_alerts_once_for_a_case_opened_in_the_same_transaction(
    db: Database, on_call: Settings
) -> None:
    now = clock.now()
    with db.write() as session:
        case = _add_case(session, category="violence")
        assert alerts.alert_now(session, case, now, settings=on_call)
        # A second message in danger on the same open case: no second alert.
        assert not alerts.alert_now(session, case, now, settings=on_call)
    assert len(_alerts(db)) == len(ON_CALL)


def test_alert_now_is_undone_with_the_callers_transaction(db: Database, on_call: Settings) -> None:
    case_id = _urgent_case(db)

    def open_then_fail() -> None:
        with db.write() as session:
            case = session.get(Case, case_id)
            assert case is not None
            alerts.alert_now(session, case, clock.now(), settings=on_call)
            raise RuntimeError("the inbound transaction failed later")

    with pytest.raises(RuntimeError):
        open_then_fail()
    assert _alerts(db) == []
    assert _alerts_sent(db, case_id) == 0


def test_alert_now_sends_nothing_for_a_case_already_claimed(
    db: Database, on_call: Settings
) -> None:
    case_id = _urgent_case(db)
    _set_status(db, case_id, CaseStatus.CLAIMED)
    with db.write() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert not alerts.alert_now(session, case, clock.now(), settings=on_call)
    assert _alerts(db) == []


# --- what the alert says ---


def test_an_alert_names_the_case_and_never_the_persons_words_or_number(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    _urgent_case(db)
    _run_until(db, on_call, frozen_clock, minutes=61)
    texts = [a.text for a in _alerts(db)]
    assert len(texts) == 4
    for text in texts:
        assert PERSON_WORDS not in text
        assert PERSON_NUMBER not in text
        assert PERSON_NUMBER.removeprefix("+") not in text
        assert "Samira" not in text
        # An on-call SMS costs one segment.
        assert sms.segments(text) == sms.SmsCount("GSM-7", len(text), 1)


def test_without_a_public_url_the_alert_has_no_link(
    db: Database, on_call: Settings, frozen_clock: FrozenClock
) -> None:
    no_url = on_call.with_overrides({"public_url": None})
    case_id = _urgent_case(db, reason="asked_for_person", category=None)
    frozen_clock.advance(timedelta(minutes=75))
    alerts.alert_unclaimed(db, no_url, clock.now())
    assert _alerts(db)[0].text == (
        f"Relais : cas urgent #{case_id} (asked_for_person) non pris en charge depuis 1 h 15."
    )


# --- nobody on call ---


def test_without_on_call_nothing_is_sent_and_the_worker_says_so_once(
    db: Database, settings: Settings, frozen_clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    case_id = _urgent_case(db)
    with caplog.at_level(logging.WARNING, logger="bot.alerts"):
        task = alerts.unclaimed_task(db, settings)
        for _ in range(200):
            task.function(clock.now())
            frozen_clock.advance(timedelta(minutes=1))
        with db.write() as session:
            case = session.get(Case, case_id)
            assert case is not None
            assert not alerts.alert_now(session, case, clock.now(), settings=settings)
    assert _alerts(db) == []
    assert _alerts_sent(db, case_id) == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.alerts"]
    assert len(warnings) == 1
    assert "RELAIS_ONCALL" in warnings[0]


def test_with_on_call_the_worker_does_not_warn(
    db: Database, on_call: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.alerts"):
        alerts.unclaimed_task(db, on_call)
    assert [r for r in caplog.records if r.name == "bot.alerts"] == []


def test_the_worker_checks_for_unclaimed_cases_every_30_seconds(
    db: Database, settings: Settings
) -> None:
    background = build_background(settings, db)
    try:
        tasks = {task.name: task for task in background.tasks}
        assert tasks["on-call alerts"].every == 30.0
    finally:
        background.close()


# --- through the real adapters to the fake providers ---


@pytest.fixture
def providers_settings(
    on_call: Settings, fake_twilio: FakeTwilio, fake_telegram: FakeTelegram
) -> Settings:
    return on_call.with_overrides(
        {
            **fake_twilio.settings_overrides(public_url=PUBLIC_URL),
            **fake_telegram.settings_overrides(),
        }
    )


@pytest.fixture
def dispatcher(db: Database, providers_settings: Settings) -> Iterator[Dispatcher]:
    instance = Dispatcher(db, channel_adapters(providers_settings), worker_id="alerts")
    yield instance
    instance.close()


def test_the_alert_reaches_the_on_call_phone_and_telegram_chat(
    db: Database,
    providers_settings: Settings,
    dispatcher: Dispatcher,
    fake_twilio: FakeTwilio,
    fake_telegram: FakeTelegram,
    frozen_clock: FrozenClock,
) -> None:
    case_id = _urgent_case(db)
    frozen_clock.advance(timedelta(minutes=15))
    alerts.alert_unclaimed(db, providers_settings, clock.now())
    assert dispatcher.run_once() == 2
    assert [(r.to, r.body) for r in fake_twilio.sent] == [
        ("+33639980001", _alerts(db)[0].text),
    ]
    assert [str(m.chat_id) for m in fake_telegram.wait_for_sent(1)] == ["5550001"]
    assert f"#{case_id}" in fake_telegram.sent[0].text
    with db.read() as session:
        statuses = session.scalars(select(Message.status).where(Message.kind == "alert")).all()
    assert statuses == ["sent", "sent"]


# --- settings ---


def test_on_call_settings_have_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.oncall == ()
    assert (settings.oncall_first_alert_minutes, settings.oncall_second_alert_minutes) == (15, 60)


def test_on_call_addresses_are_read_in_order() -> None:
    env = {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM": "+33700000000",
        "TELEGRAM_BOT_TOKEN": "123456789:" + "A" * 30,
        "RELAIS_ONCALL": " sms:+33639980001, whatsapp:+33639980002,telegram:-1001234567890, ",
        "RELAIS_ONCALL_FIRST_ALERT_MINUTES": "10",
        "RELAIS_ONCALL_SECOND_ALERT_MINUTES": "30",
    }
    settings = Settings.from_env(env)
    assert settings.oncall == (
        OnCallAddress("sms", "+33639980001"),
        OnCallAddress("whatsapp", "+33639980002"),
        OnCallAddress("telegram", "-1001234567890"),
    )
    assert (settings.oncall_first_alert_minutes, settings.oncall_second_alert_minutes) == (10, 30)
    # Staff numbers stay out of a logged Settings.
    assert "+33639980001" not in repr(settings)


CHANNELS_ON = {"TELEGRAM_BOT_TOKEN": "123456789:" + "A" * 30}


@pytest.mark.parametrize(
    ("value", "entry"),
    [
        ("telegram:5550001,+33639980001", "entry 2 '+33639980001'"),
        ("email:oncall@example.org", "entry 1 'email:oncall@example.org'"),
        ("telegram:@oncall", "entry 1 'telegram:@oncall'"),
        ("sms:0639980001", "entry 1 'sms:0639980001'"),
        ("sms:+33 6 39 98 00 01", "entry 1 'sms:+33 6 39 98 00 01'"),
        ("SMS:+33639980001", "entry 1 'SMS:+33639980001'"),
        ("telegram:5550001,telegram:5550001", "entry 2 'telegram:5550001' is listed twice"),
    ],
)
def test_a_bad_on_call_entry_names_the_variable_and_the_entry(value: str, entry: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({**CHANNELS_ON, "RELAIS_ONCALL": value})
    assert error.value.variable == "RELAIS_ONCALL"
    assert str(error.value).startswith(f"RELAIS_ONCALL: {entry}")


def test_an_on_call_address_needs_its_channel_configured() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({**CHANNELS_ON, "RELAIS_ONCALL": "telegram:1,sms:+33639980001"})
    assert error.value.variable == "RELAIS_ONCALL"
    assert "sms:+33639980001" in error.value.problem


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RELAIS_ONCALL_FIRST_ALERT_MINUTES", "soon"),
        ("RELAIS_ONCALL_FIRST_ALERT_MINUTES", "0"),
        ("RELAIS_ONCALL_FIRST_ALERT_MINUTES", "-5"),
        ("RELAIS_ONCALL_SECOND_ALERT_MINUTES", "1.5"),
        ("RELAIS_ONCALL_SECOND_ALERT_MINUTES", "99999"),
        # Not after the first alert.
        ("RELAIS_ONCALL_SECOND_ALERT_MINUTES", "15"),
    ],
)
def test_a_bad_alert_delay_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({variable: value})
    assert error.value.variable == variable
    assert str(error.value).startswith(f"{variable}: ")


def test_a_danger_phrase_typed_in_the_simulator_pages_nobody(
    db: Database, on_call: Settings
) -> None:
    now = clock.now()
    with db.write() as session:
        case = _add_case(session, channel=Channel.SIMULATOR, number="trainer-1")
        assert not alerts.alert_now(session, case, now, settings=on_call)
    assert _alerts(db) == []
