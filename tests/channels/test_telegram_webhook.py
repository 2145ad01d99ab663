"""`POST /webhooks/telegram`: verify the secret token, store once, queue the replies."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from bot.channels.base import Outbound
from bot.channels.telegram import TelegramAdapter
from bot.channels.telegram_webhook import SECRET_HEADER
from bot.config import Settings
from bot.engine.text import LRI, PDI
from bot.runtime import shipped_runtime
from storage.db import Database
from storage.models import Channel, Contact, ContactAddress, Direction, Message, OutboxItem
from tests.conftest import process_inbox
from tests.fakes import telegram as build
from tests.fakes.telegram import (
    WEBHOOK_SECRET,
    FakeTelegram,
)

# The webhook never calls Telegram; nothing listens on the discard port.
UNUSED_API_URL = "http://127.0.0.1:9"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the Telegram channel on (token and webhook secret)."""
    return settings.with_overrides(build.settings_overrides(UNUSED_API_URL))


def post(
    client: FlaskClient, body: dict[str, Any] | bytes, secret: str | None = WEBHOOK_SECRET
) -> TestResponse:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post(
        "/webhooks/telegram", data=data, headers=headers, content_type="application/json"
    )
    # What the worker's inbox does right after: process what the webhook stored.
    process_inbox(client.application)
    return response


def messages(db: Database, direction: Direction) -> list[Message]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Message).where(Message.direction == direction).order_by(Message.id)
            )
        )


def language_text(language: str, step: str) -> str:
    """A text of the change_language flow in `language` (without bidi isolates)."""
    runtime = shipped_runtime()
    found = runtime.library.get("change_language").steps[step]
    source = getattr(found, "ask_choice", None) or getattr(found, "say")  # noqa: B009
    return runtime.catalogs.translator(language).gettext(source.source)


def plain(text: str | None) -> str:
    """The text without the isolates that keep Latin words readable in Arabic and Dari."""
    return (text or "").replace(LRI, "").replace(PDI, "")


def menu(language: str) -> str:
    return language_text(language, "choose_language")


def confirmation(language: str) -> str:
    return language_text(language, "confirm_language")


def test_a_message_is_stored_and_answered_in_the_language_telegram_reports(
    client: FlaskClient, db: Database
) -> None:
    update = build.text_update("Привіт", language_code="uk")

    response = post(client, update)

    assert response.status_code == 200
    [received] = messages(db, Direction.IN)
    assert received.channel == Channel.TELEGRAM
    assert received.provider_id == str(update["update_id"])
    assert received.text == "Привіт"
    [prompt] = messages(db, Direction.OUT)
    assert plain(prompt.text) == menu("uk")
    assert menu("uk") != menu("fr")
    assert "Українська" in (prompt.payload or {})["choices"]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 1


def test_start_with_a_language_answers_in_that_language(client: FlaskClient, db: Database) -> None:
    response = post(client, build.start_update("ar", language_code="fr"))

    assert response.status_code == 200
    [received] = messages(db, Direction.IN)
    assert received.kind == "start"
    [prompt] = messages(db, Direction.OUT)
    assert plain(prompt.text) == menu("ar")
    assert menu("ar") != menu("fr")


def test_start_with_a_referral_keeps_where_the_person_came_from(
    client: FlaskClient, db: Database
) -> None:
    post(client, build.start_update("ref-mairie-13"))

    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.referral_source == "mairie-13"


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", WEBHOOK_SECRET + "x", "sécret"])
def test_a_missing_or_wrong_secret_token_is_refused_and_nothing_is_stored(
    client: FlaskClient, db: Database, secret: str | None
) -> None:
    response = post(client, build.text_update("Bonjour"), secret=secret)

    assert response.status_code == 403
    assert messages(db, Direction.IN) == []


def test_without_a_configured_secret_every_call_is_refused(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.app import create_app

    app = create_app(
        {"TESTING": True}, settings=settings.with_overrides({"telegram_webhook_secret": None})
    )
    with caplog.at_level(logging.ERROR):
        response = post(app.test_client(), build.text_update("Bonjour"), secret="")

    assert response.status_code == 403
    assert "TELEGRAM_WEBHOOK_SECRET must be set" in caplog.text


def test_the_webhook_does_not_exist_while_telegram_is_off(settings: Settings) -> None:
    from bot.app import create_app

    app = create_app(
        {"TESTING": True}, settings=settings.with_overrides({"telegram_bot_token": None})
    )

    assert post(app.test_client(), build.text_update("Bonjour")).status_code == 404


def test_the_same_update_three_times_is_stored_once_and_answered_once(
    client: FlaskClient, db: Database
) -> None:
    update = build.text_update("Bonjour", language_code="fr")

    statuses = [post(client, update).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert len(messages(db, Direction.IN)) == 1
    assert len(messages(db, Direction.OUT)) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00garbage",
        b"[" * 50_000,
        b"[1, 2]",
        b'"an update"',
        b'{"update_id": "12", "message": {}}',
        b'{"message": {"chat": {"id": 1, "type": "private"}, "text": "hi"}}',
        b'{"update_id": 3, "message": {"text": "no chat"}}',
    ],
)
def test_a_body_that_is_not_an_update_gets_400_and_nothing_is_stored(
    client: FlaskClient, db: Database, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = post(client, body)

    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert response.text
    assert "rejecting a webhook call" in caplog.text
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_an_oversized_body_is_refused_and_nothing_is_stored(
    client: FlaskClient, db: Database
) -> None:
    update = build.text_update("x" * 300_000)

    assert post(client, update).status_code == 413
    assert messages(db, Direction.IN) == []


@pytest.mark.parametrize(
    "update",
    [
        build.callback_query_update(),
        build.channel_post_update("Breaking news"),
        build.my_chat_member_update(),
        build.group_text_update("hello everyone"),
    ],
    ids=["callback_query", "channel_post", "my_chat_member", "group_chat"],
)
def test_updates_relais_does_not_act_on_are_acknowledged_and_logged(
    client: FlaskClient, db: Database, update: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = post(client, update)

    assert response.status_code == 200
    assert f"ignoring update {update['update_id']}" in caplog.text
    assert messages(db, Direction.IN) == []


@pytest.mark.parametrize(
    ("update", "kind"),
    [
        (build.sticker_update(), "sticker"),
        (build.photo_update(caption="my letter"), "photo"),
        (build.voice_update(), "voice"),
        (build.edited_update("I meant Tuesday"), "edited"),
    ],
)
def test_stickers_photos_voice_notes_and_edits_reach_the_service_with_their_kind(
    client: FlaskClient, db: Database, update: dict[str, Any], kind: str
) -> None:
    response = post(client, update)

    assert response.status_code == 200
    [received] = messages(db, Direction.IN)
    assert received.kind == kind
    assert (received.text or "").startswith(f"[{kind}]")


@pytest.fixture
def fake(fake_telegram: FakeTelegram) -> FakeTelegram:
    return fake_telegram


@pytest.fixture
def adapter(fake: FakeTelegram) -> Iterator[TelegramAdapter]:
    settings = Settings.from_env({}).with_overrides(fake.settings_overrides())
    instance = TelegramAdapter(settings, connect_timeout=1.0, read_timeout=1.0)
    yield instance
    instance.close()


def deliver(db: Database, adapter: TelegramAdapter) -> None:
    """Send what is queued, in order, as the dispatcher does (without leases or retries)."""
    with db.write() as session:
        queued = session.execute(
            select(OutboxItem, Message, ContactAddress)
            .join(Message, Message.id == OutboxItem.message_id)
            .join(ContactAddress, ContactAddress.id == Message.address_id)
            .order_by(OutboxItem.id)
        ).all()
        for item, message, address in queued:
            choices = tuple((message.payload or {}).get("choices", ()))
            outbound = Outbound(
                message.id, Channel.TELEGRAM, address.address, message.text or "", choices
            )
            message.provider_id = adapter.send(outbound).provider_id
            session.delete(item)


def test_a_person_picks_a_language_with_a_button_and_is_answered_in_it(
    client: FlaskClient, db: Database, adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    post(client, build.start_update("ar", language_code="fr"))
    deliver(db, adapter)

    [shown] = fake.sent
    assert shown.chat_id == build.CHAT_ID
    assert plain(shown.text) == menu("ar")
    assert ["Українська"] in shown.buttons

    # Tapping a button sends its label as text.
    post(client, build.text_update("Українська", language_code="fr"))
    deliver(db, adapter)

    assert plain(fake.sent[1].text) == confirmation("uk")
    assert confirmation("uk") != confirmation("ar")
