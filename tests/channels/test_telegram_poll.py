"""Local development: `set_webhook`, and `poll` receiving from the fake Bot API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot.channels.telegram_poll import TelegramUnavailable, poll, set_webhook, webhook_url
from bot.config import ConfigError, Settings
from bot.conversation import ConversationService
from bot.inbox import Inbox
from bot.runtime import shipped_runtime
from storage.db import Database
from storage.models import Direction, Message
from tests.fakes import telegram as build
from tests.fakes.telegram import (
    TOKEN,
    WEBHOOK_SECRET,
    FakeTelegram,
    wait_until,
)


@pytest.fixture
def fake(fake_telegram: FakeTelegram) -> FakeTelegram:
    return fake_telegram


@pytest.fixture
def telegram_settings(settings: Settings, fake: FakeTelegram) -> Settings:
    return settings.with_overrides(fake.settings_overrides())


@pytest.fixture
def service(telegram_settings: Settings) -> Iterator[ConversationService]:
    database = Database(telegram_settings.database_url)
    yield ConversationService(database, shipped_runtime(), telegram_settings)
    database.dispose()


@dataclass
class Poller:
    """`poll` running in a thread, as `relais telegram poll` runs it."""

    stop: threading.Event = field(default_factory=threading.Event)
    result: list[int | BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self, target: Callable[[threading.Event], int]) -> None:
        def run() -> None:
            try:
                self.result.append(target(self.stop))
            except BaseException as exc:
                self.result.append(exc)

        self.thread = threading.Thread(target=run, name="test-poller", daemon=True)
        self.thread.start()

    def finish(self, within: float = 2.0) -> int | BaseException:
        """Set the stop event; the poller must return within `within` seconds."""
        assert self.thread is not None
        self.stop.set()
        self.thread.join(within)
        assert not self.thread.is_alive(), f"poll did not stop within {within} s"
        return self.result[0]


@pytest.fixture
def poller(telegram_settings: Settings, service: ConversationService) -> Iterator[Poller]:
    running = Poller()
    running.start(
        lambda stop: poll(telegram_settings, service, stop, long_poll_seconds=25, retry_seconds=0.1)
    )
    yield running
    running.stop.set()


def inbound(service: ConversationService) -> list[Message]:
    with service.database.read() as session:
        return list(
            session.scalars(
                select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
            )
        )


def test_polling_hands_pushed_updates_to_the_conversation_service(
    poller: Poller, service: ConversationService, fake: FakeTelegram
) -> None:
    text, sticker = build.text_update("Привіт", language_code="uk"), build.sticker_update()
    fake.push(text, sticker)

    wait_until(lambda: len(inbound(service)) == 2, what="two stored messages")
    # Asking for the next offset confirms both to Telegram, which forgets them.
    wait_until(lambda: fake.pending_updates == [], what="confirmed updates")

    assert poller.finish() == 2
    stored = inbound(service)
    assert [m.provider_id for m in stored] == [str(text["update_id"]), str(sticker["update_id"])]
    assert [m.kind for m in stored] == ["text", "sticker"]
    offsets = [call.params.get("offset") for call in fake.calls("getUpdates")]
    assert sticker["update_id"] + 1 in offsets


def test_polling_queues_replies_for_the_dispatcher_without_sending_them(
    poller: Poller, service: ConversationService, fake: FakeTelegram
) -> None:
    fake.push(build.start_update("ar"))

    wait_until(lambda: len(inbound(service)) == 1, what="the stored /start")
    poller.finish()
    # The worker's inbox processes it; the dispatcher, not the poller, will send.
    inbox = Inbox(service)
    try:
        assert inbox.run_once() == 1
    finally:
        inbox.close()

    with service.database.read() as session:
        replies = session.scalars(select(Message).where(Message.direction == Direction.OUT))
        assert len(list(replies)) == 1
    assert fake.sent == []


def test_polling_stops_promptly_in_the_middle_of_a_long_poll(
    poller: Poller, fake: FakeTelegram
) -> None:
    wait_until(lambda: len(fake.calls("deleteWebhook")) == 1, what="polling to start")
    time.sleep(0.3)  # now inside a 25 s getUpdates

    started = time.monotonic()
    assert poller.finish(within=2.0) == 0
    assert time.monotonic() - started < 2.0


def test_polling_removes_the_webhook_first(
    telegram_settings: Settings, service: ConversationService, fake: FakeTelegram
) -> None:
    set_webhook(telegram_settings, "https://relais.example.org/webhooks/telegram")
    update = build.text_update("Bonjour")
    fake.push(update)
    running = Poller()
    running.start(lambda stop: poll(telegram_settings, service, stop, retry_seconds=0.1))

    wait_until(lambda: len(inbound(service)) == 1, what="the stored message")

    assert running.finish() == 1
    assert fake.webhook is None
    assert fake.calls("getUpdates")[0].answered == 200


def test_a_repeated_update_is_stored_once(
    poller: Poller, service: ConversationService, fake: FakeTelegram
) -> None:
    update = build.text_update("Bonjour")
    fake.push(update, update)

    wait_until(lambda: fake.pending_updates == [], what="confirmed updates")

    assert poller.finish() == 2
    assert len(inbound(service)) == 1


def test_polling_waits_for_a_server_that_is_down_and_then_receives(
    telegram_settings: Settings, service: ConversationService, fake: FakeTelegram
) -> None:
    fake.go_down(seconds=0.5)
    fake.push(build.text_update("Bonjour"))
    running = Poller()
    running.start(lambda stop: poll(telegram_settings, service, stop, retry_seconds=0.1))

    wait_until(lambda: len(inbound(service)) == 1, timeout=5.0, what="the stored message")

    assert running.finish() == 1


def test_polling_stops_promptly_while_the_server_is_down(
    telegram_settings: Settings, service: ConversationService, fake: FakeTelegram
) -> None:
    fake.go_down()
    running = Poller()
    running.start(lambda stop: poll(telegram_settings, service, stop, retry_seconds=30))
    time.sleep(0.3)

    assert running.finish(within=2.0) == 0


def test_polling_with_a_rejected_token_fails_without_showing_it(
    telegram_settings: Settings, service: ConversationService
) -> None:
    wrong = TOKEN.replace("AAE", "XXE")
    settings = telegram_settings.with_overrides({"telegram_bot_token": wrong})

    with pytest.raises(TelegramUnavailable) as raised:
        poll(settings, service, threading.Event(), retry_seconds=0.1)

    assert wrong not in str(raised.value)
    assert "TELEGRAM_BOT_TOKEN" in str(raised.value)


def test_set_webhook_registers_the_url_the_secret_and_the_updates_relais_reads(
    telegram_settings: Settings, fake: FakeTelegram
) -> None:
    set_webhook(telegram_settings, "https://relais.example.org/webhooks/telegram")

    assert fake.webhook == {
        "url": "https://relais.example.org/webhooks/telegram",
        "secret_token": WEBHOOK_SECRET,
        "allowed_updates": ["message", "edited_message"],
    }


def test_set_webhook_refuses_to_run_without_a_secret(telegram_settings: Settings) -> None:
    settings = telegram_settings.with_overrides({"telegram_webhook_secret": None})

    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        set_webhook(settings, "https://relais.example.org/webhooks/telegram")


def test_set_webhook_reports_what_telegram_refused(
    telegram_settings: Settings, fake: FakeTelegram
) -> None:
    fake.script(
        build.Scripted.bad_request("Bad Request: bad webhook: HTTPS url must be provided"),
        method="setWebhook",
    )

    with pytest.raises(TelegramUnavailable, match=r"(?i)https url must be provided"):
        set_webhook(telegram_settings, "http://relais.example.org/webhooks/telegram")


def test_the_webhook_url_defaults_to_the_public_url(telegram_settings: Settings) -> None:
    settings = telegram_settings.with_overrides({"public_url": "https://relais.example.org"})

    assert webhook_url(settings) == "https://relais.example.org/webhooks/telegram"
    assert webhook_url(settings, "https://other.example.org/hook") == (
        "https://other.example.org/hook"
    )
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        webhook_url(telegram_settings)
