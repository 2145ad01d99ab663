"""From webhook to provider: the conversation service, the outbox, the dispatcher, the SDKs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from bot import clock, outbox
from bot.app import create_app
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.extensions import relais
from bot.inbox import Inbox
from bot.tasks import channel_adapters
from storage.db import Database
from storage.models import Channel, Contact, ContactAddress, Message, OutboxItem
from tests.conftest import FrozenClock
from tests.fakes import telegram as tg
from tests.fakes.telegram import FakeTelegram, Scripted
from tests.fakes.twilio import PUBLIC_URL, FakeTwilio, inbound_params, sign

CHAT = "777001"


@pytest.fixture
def channels_app(
    settings: Settings, fake_twilio: FakeTwilio, fake_telegram: FakeTelegram
) -> Iterator[Flask]:
    configured = settings.with_overrides(
        {
            **fake_twilio.settings_overrides(),
            **fake_telegram.settings_overrides(),
            # The per-chat limiter runs on real time; tests move a frozen clock.
            "telegram_per_chat_rate": 1000.0,
        }
    )
    app = create_app({"TESTING": True}, settings=configured)
    yield app
    relais(app).database.dispose()


@pytest.fixture
def database(channels_app: Flask) -> Database:
    return relais(channels_app).database


@pytest.fixture
def dispatcher(channels_app: Flask) -> Iterator[Dispatcher]:
    extension = relais(channels_app)
    # The adapters as the worker builds them from the settings.
    instance = Dispatcher(extension.database, channel_adapters(extension.settings), worker_id="e2e")
    yield instance
    instance.close()


def _drain(app: Flask, dispatcher: Dispatcher, seconds: float = 10.0) -> None:
    """What the worker does: process what webhooks stored, send what that queued."""
    database = relais(app).database
    inbox = Inbox(relais(app).conversations)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        inbox.run_once()
        dispatcher.run_once()
        with database.read() as session:
            if not session.scalar(select(func.count()).select_from(OutboxItem)):
                inbox.close()
                return
        time.sleep(0.05)
    inbox.close()
    raise AssertionError("the outbox did not drain")


def _telegram_person(database: Database, chat: str, language: str = "fr") -> int:
    with database.write() as session:
        contact = Contact(created_at=clock.now(), fields={}, language=language)
        contact.addresses.append(
            ContactAddress(channel=Channel.TELEGRAM, address=chat, created_at=clock.now())
        )
        session.add(contact)
        session.flush()
        return contact.id


def _queue(database: Database, contact_id: int, *texts: str) -> None:
    with database.write() as session:
        address = session.scalars(
            select(ContactAddress).where(ContactAddress.contact_id == contact_id)
        ).one()
        for text in texts:
            outbox.enqueue(session, address, text, clock.now())


def test_a_signed_sms_gets_its_reply_delivered_in_the_contacts_language(
    channels_app: Flask, database: Database, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    with database.write() as session:
        contact = Contact(created_at=clock.now(), fields={}, language="uk")
        contact.addresses.append(
            ContactAddress(channel=Channel.SMS, address="+33639980301", created_at=clock.now())
        )
        session.add(contact)
    params = inbound_params("Привіт", from_="+33639980301", sid="SM" + "1" * 32)
    signature = sign(PUBLIC_URL + "/webhooks/twilio", params)
    client = channels_app.test_client()
    for _ in range(3):  # Twilio retried the webhook twice
        answer = client.post(
            "/webhooks/twilio", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200
    _drain(channels_app, dispatcher)

    sent = fake_twilio.sent
    assert sent, "nothing reached the fake Twilio"
    assert {message.to for message in sent} == {"+33639980301"}
    # One set of replies for three deliveries of the same MessageSid, in Ukrainian.
    with database.read() as session:
        replies = session.scalars(select(Message).where(Message.direction == "out")).all()
    assert len(sent) == len(replies)
    assert all(message.body and any("Ѐ" <= c <= "ӿ" for c in message.body) for message in sent)
    assert all(reply.status == "sent" and reply.provider_id for reply in replies)


def test_whatsapp_replies_leave_from_the_whatsapp_sender(
    channels_app: Flask, database: Database, dispatcher: Dispatcher, fake_twilio: FakeTwilio
) -> None:
    params = inbound_params("Bonjour", from_="+33639980302", whatsapp=True)
    signature = sign(PUBLIC_URL + "/webhooks/twilio", params)
    answer = channels_app.test_client().post(
        "/webhooks/twilio", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 200
    _drain(channels_app, dispatcher)
    assert fake_twilio.sent
    assert {(m.from_, m.to) for m in fake_twilio.sent} == {
        ("whatsapp:+33639980000", "whatsapp:+33639980302")
    }


def test_a_telegram_update_gets_its_reply_with_buttons_in_the_hinted_language(
    channels_app: Flask, database: Database, dispatcher: Dispatcher, fake_telegram: FakeTelegram
) -> None:
    update = tg.text_update("Привіт", language_code="uk")
    client = channels_app.test_client()
    for _ in range(3):
        answer = client.post(
            "/webhooks/telegram",
            data=json.dumps(update),
            content_type="application/json",
            headers={"X-Telegram-Bot-Api-Secret-Token": tg.WEBHOOK_SECRET},
        )
        assert answer.status_code == 200
    _drain(channels_app, dispatcher)
    first = fake_telegram.sent[0]
    assert any("Ѐ" <= c <= "ӿ" for c in first.text)
    assert ["Français"] in first.buttons
    with database.read() as session:
        replies = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "out")
        )
    assert len(fake_telegram.sent) == replies


def test_after_429_retry_after_2_the_message_leaves_once_two_seconds_later(
    channels_app: Flask, database: Database, dispatcher: Dispatcher, fake_telegram: FakeTelegram
) -> None:
    contact = _telegram_person(database, CHAT)
    _queue(database, contact, "Bonjour")
    fake_telegram.script(Scripted.too_many_requests(2))
    _drain(channels_app, dispatcher)
    calls = fake_telegram.calls("sendMessage")
    assert [call.answered for call in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 2.0
    assert [message.text for message in fake_telegram.sent] == ["Bonjour"]


def test_a_blocked_bot_marks_the_address_and_never_retries(
    channels_app: Flask, database: Database, dispatcher: Dispatcher, fake_telegram: FakeTelegram
) -> None:
    contact = _telegram_person(database, CHAT)
    _queue(database, contact, "one", "two")
    fake_telegram.script(Scripted.blocked())
    _drain(channels_app, dispatcher)
    assert len(fake_telegram.calls("sendMessage")) == 1
    with database.read() as session:
        address = session.scalars(select(ContactAddress)).one()
        statuses = session.scalars(select(Message.status).order_by(Message.id)).all()
    assert address.unreachable_at is not None
    assert statuses == ["failed", "failed"]


def test_after_a_minute_down_everything_queued_leaves_once_in_order(
    database: Database,
    dispatcher: Dispatcher,
    fake_telegram: FakeTelegram,
    frozen_clock: FrozenClock,
) -> None:
    chats = ["777101", "777102", "777103"]
    for chat in chats:
        _queue(database, _telegram_person(database, chat), *(f"{chat} #{n}" for n in range(3)))
    fake_telegram.go_down()
    for _ in range(6):  # a minute of failed passes, ten seconds apart
        dispatcher.run_once()
        frozen_clock.advance(timedelta(seconds=10))
    assert fake_telegram.sent == []
    fake_telegram.come_up()
    for _ in range(40):
        frozen_clock.advance(timedelta(minutes=5))
        dispatcher.run_once()
        with database.read() as session:
            if not session.scalar(select(func.count()).select_from(OutboxItem)):
                break
    sent = [(str(m.chat_id), m.text) for m in fake_telegram.sent]
    assert len(sent) == 9
    for chat in chats:
        assert [text for to, text in sent if to == chat] == [f"{chat} #{n}" for n in range(3)]
