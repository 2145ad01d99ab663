"""The Telegram adapter, through the real python-telegram-bot, against the fake Bot API."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.channels.base import AddressProblem, ChannelError, Outbound, RateLimit
from bot.channels.telegram import TelegramAdapter
from bot.config import ConfigError, Settings
from storage.models import Channel
from tests.fakes.telegram import (
    CHAT_ID,
    TOKEN,
    FakeTelegram,
    Scripted,
)

_ids = itertools.count(1)


def outbound(text: str = "Bonjour", choices: tuple[str, ...] = (), chat: int = CHAT_ID) -> Outbound:
    return Outbound(next(_ids), Channel.TELEGRAM, str(chat), text, choices)


@pytest.fixture
def fake(fake_telegram: FakeTelegram) -> FakeTelegram:
    return fake_telegram


@pytest.fixture
def telegram_settings(fake: FakeTelegram) -> Settings:
    return Settings.from_env({}).with_overrides(fake.settings_overrides())


@pytest.fixture
def adapter(telegram_settings: Settings) -> Iterator[TelegramAdapter]:
    instance = TelegramAdapter(telegram_settings, connect_timeout=1.0, read_timeout=1.0)
    yield instance
    instance.close()


def send_failure(adapter: TelegramAdapter, message: Outbound | None = None) -> ChannelError:
    with pytest.raises(ChannelError) as raised:
        adapter.send(message or outbound())
    return raised.value


def test_choices_become_one_reply_keyboard_button_per_row(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    adapter.send(outbound("Choisissez", ("Français", "العربية", "Українська")))

    [sent] = fake.sent
    assert sent.chat_id == CHAT_ID
    assert sent.text == "Choisissez"
    assert sent.buttons == [["Français"], ["العربية"], ["Українська"]]
    assert sent.reply_markup is not None
    assert sent.reply_markup["one_time_keyboard"] is True
    assert sent.reply_markup["resize_keyboard"] is True


def test_a_message_without_choices_removes_any_keyboard(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    adapter.send(outbound("Merci."))

    [sent] = fake.sent
    assert sent.buttons == []
    assert sent.removes_keyboard


def test_the_provider_id_is_the_chat_and_the_message_id(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    first = adapter.send(outbound())
    second = adapter.send(outbound(chat=CHAT_ID + 1))

    ids = [sent.message_id for sent in fake.sent]
    assert first.provider_id == f"{CHAT_ID}:{ids[0]}"
    assert second.provider_id == f"{CHAT_ID + 1}:{ids[1]}"


def test_the_bot_is_initialised_once_for_many_sends(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    for _ in range(5):
        adapter.send(outbound())

    assert len(fake.calls("getMe")) == 1
    assert len(fake.sent) == 5


# PTB's own RetryAfter constructor reads its deprecated int `retry_after`.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_flood_control_is_transient_and_says_when_to_retry(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    fake.script(Scripted.too_many_requests(retry_after=2))

    error = send_failure(adapter)

    assert not error.permanent
    assert error.retry_after == 2.0
    assert error.code == "429"
    assert error.throttled
    assert error.address_problem is None
    # The next attempt goes through.
    adapter.send(outbound())
    assert len(fake.sent) == 1


def test_a_server_error_is_transient(adapter: TelegramAdapter, fake: FakeTelegram) -> None:
    fake.script(Scripted.server_error())

    error = send_failure(adapter)

    assert not error.permanent
    assert error.retry_after is None


def test_a_blocked_bot_is_permanent_and_marks_the_address_blocked(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    fake.script(Scripted.blocked())

    error = send_failure(adapter)

    assert error.permanent
    assert error.address_problem is AddressProblem.BLOCKED
    assert error.code == "403"


def test_a_deactivated_account_is_permanent_and_unreachable(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    fake.script(Scripted.deactivated())

    error = send_failure(adapter)

    assert error.permanent
    assert error.address_problem is AddressProblem.UNREACHABLE


def test_an_unknown_chat_is_permanent_and_unreachable(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    fake.script(Scripted.chat_not_found())

    error = send_failure(adapter)

    assert error.permanent
    assert error.address_problem is AddressProblem.UNREACHABLE
    assert error.code == "400"


def test_another_bad_request_is_permanent_and_says_nothing_about_the_address(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    fake.script(Scripted.bad_request("Bad Request: message is too long"))

    error = send_failure(adapter)

    assert error.permanent
    assert error.address_problem is None
    assert "too long" in str(error)


def test_a_rejected_token_is_permanent_and_never_repeated_in_the_error(
    fake: FakeTelegram,
) -> None:
    wrong = TOKEN.replace("AAE", "XXE")
    settings = Settings.from_env({}).with_overrides(
        {**fake.settings_overrides(), "telegram_bot_token": wrong}
    )
    adapter = TelegramAdapter(settings, connect_timeout=1.0, read_timeout=1.0)
    try:
        error = send_failure(adapter)
    finally:
        adapter.close()

    assert error.permanent
    assert error.code == "invalid_token"
    assert wrong not in str(error)
    assert fake.sent == []


def test_the_bot_token_never_reaches_the_logs(
    adapter: TelegramAdapter, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        adapter.send(outbound())
        fake.script(Scripted.blocked())
        send_failure(adapter)

    # httpx logged the request URLs, with the token replaced.
    assert "/bot<TELEGRAM_BOT_TOKEN>/sendMessage" in caplog.text
    assert TOKEN not in caplog.text


def test_a_server_that_refuses_connections_is_transient_until_it_returns(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    adapter.send(outbound("before"))
    fake.go_down()

    error = send_failure(adapter)

    assert not error.permanent
    assert error.code == "network"
    fake.come_up()
    adapter.send(outbound("after"))
    assert [sent.text for sent in fake.sent] == ["before", "after"]


def test_a_slow_answer_times_out_as_transient(adapter: TelegramAdapter, fake: FakeTelegram) -> None:
    adapter.send(outbound())  # getMe done: the slow answer is the sendMessage itself
    fake.script(Scripted.slow(3.0))

    error = send_failure(adapter)

    assert not error.permanent
    assert error.code == "timeout"


def test_one_event_loop_thread_serves_every_send_from_every_thread(
    adapter: TelegramAdapter, fake: FakeTelegram
) -> None:
    adapter.send(outbound())
    before = _threads()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: adapter.send(outbound(f"n{n}")), range(40)))

    assert len({result.provider_id for result in results}) == 40
    assert len(fake.sent) == 41
    assert _threads() == before
    assert [t.name for t in threading.enumerate()].count("relais-telegram") == 1


def test_close_stops_the_loop_thread_and_refuses_further_sends(
    telegram_settings: Settings,
) -> None:
    adapter = TelegramAdapter(telegram_settings)
    adapter.send(outbound())

    adapter.close()
    adapter.close()  # closing twice is harmless

    assert "relais-telegram" not in [t.name for t in threading.enumerate()]
    with pytest.raises(RuntimeError, match="closed"):
        adapter.send(outbound())


def test_the_rate_limit_follows_telegrams_limits_unless_configured(
    telegram_settings: Settings,
) -> None:
    default = TelegramAdapter(telegram_settings)
    tuned = TelegramAdapter(telegram_settings, per_second=10, per_chat_per_second=0.5)
    try:
        assert default.rate_limit(Channel.TELEGRAM) == RateLimit(30.0, 1.0)
        assert tuned.rate_limit(Channel.TELEGRAM) == RateLimit(10, 0.5)
    finally:
        default.close()
        tuned.close()


def test_the_adapter_needs_a_bot_token() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        TelegramAdapter(Settings.from_env({}))


def _threads() -> set[str]:
    # The fake server's per-request threads come and go; they are not the adapter's.
    return {
        f"{t.name}:{t.ident}"
        for t in threading.enumerate()
        if "process_request_thread" not in t.name
    }
