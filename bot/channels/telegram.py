"""Sending on Telegram through python-telegram-bot, from the dispatcher's plain threads.

PTB is async. One daemon thread runs one long-lived event loop that owns one `Bot` (and
its HTTP connection pool); `send()` hands a coroutine to that loop and waits for it, so
any number of dispatcher threads share the connections and nothing calls `asyncio.run`
per message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from bot.channels.base import AddressProblem, ChannelError, Outbound, RateLimit, Sent
from bot.config import ConfigError, Settings
from storage.models import Channel

log = logging.getLogger(__name__)

T = TypeVar("T")

# Telegram's documented limits: about 30 messages a second overall, one a second per chat.
DEFAULT_PER_SECOND = 30.0
DEFAULT_PER_CHAT_PER_SECOND = 1.0
REJECTED_BOT_CREDENTIALS = "Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN"


def build_bot(
    settings: Settings,
    *,
    connect_timeout: float = 5.0,
    read_timeout: float = 10.0,
    pool_size: int = 16,
) -> Bot:
    """A `Bot` for the configured token, talking to TELEGRAM_API_URL (a local fake in tests)."""
    if not settings.telegram_bot_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "must be set to use the Telegram channel")
    _keep_out_of_logs(settings.telegram_bot_token)

    def request() -> HTTPXRequest:
        return HTTPXRequest(
            connection_pool_size=pool_size,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=read_timeout,
            # Waiting for a free connection means the pool is too small, not that Telegram
            # is slow: fail fast and let the dispatcher retry.
            pool_timeout=connect_timeout,
        )

    return Bot(
        settings.telegram_bot_token,
        base_url=f"{settings.telegram_api_url}/bot",
        base_file_url=f"{settings.telegram_api_url}/file/bot",
        request=request(),
        get_updates_request=request(),
    )


class _RedactToken(logging.Filter):
    """Hides the bot token, which is part of every Bot API URL, in httpx's request lines."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self.token in text:
            record.msg, record.args = text.replace(self.token, "<TELEGRAM_BOT_TOKEN>"), None
        return True


def _keep_out_of_logs(token: str) -> None:
    # httpx logs every request URL at INFO, and Relais logs at INFO by default.
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactToken) and f.token == token for f in logger.filters):
        logger.addFilter(_RedactToken(token))


def reply_markup(choices: tuple[str, ...]) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """Choices as one button per row; no choices removes a keyboard a previous message left."""
    if not choices:
        return ReplyKeyboardRemove()
    return ReplyKeyboardMarkup(
        [[KeyboardButton(choice)] for choice in choices],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def channel_error(exc: TelegramError) -> ChannelError:
    """What a PTB error means for the dispatcher: retry or not, and what about the address."""
    reason = str(exc)
    lowered = reason.lower()
    # Order matters: BadRequest and TimedOut are subclasses of NetworkError.
    if isinstance(exc, RetryAfter):
        return ChannelError(
            reason,
            permanent=False,
            code="429",
            retry_after=_retry_after_seconds(exc),
            throttled=True,
        )
    if isinstance(exc, Forbidden):
        problem: AddressProblem | None
        if "blocked by the user" in lowered:
            problem = AddressProblem.BLOCKED
        else:
            # "user is deactivated", "bot can't initiate conversation with a user": the chat
            # cannot receive, whatever the person wants (see AddressProblem.UNREACHABLE).
            problem = AddressProblem.UNREACHABLE
        return ChannelError(reason, permanent=True, code="403", address_problem=problem)
    if isinstance(exc, BadRequest):
        problem = AddressProblem.UNREACHABLE if "chat not found" in lowered else None
        return ChannelError(reason, permanent=True, code="400", address_problem=problem)
    if isinstance(exc, InvalidToken):
        # PTB's message repeats the token, and this one ends up in logs and the database.
        return ChannelError(REJECTED_BOT_CREDENTIALS, permanent=True, code="invalid_token")
    if isinstance(exc, TimedOut):
        return ChannelError(reason, permanent=False, code="timeout")
    if isinstance(exc, NetworkError):
        return ChannelError(reason, permanent=False, code="network")
    # ChatMigrated, Conflict, EndPointNotFound…: unexpected for a private chat; retrying
    # costs little and a person sees the failure if it persists.
    return ChannelError(reason, permanent=False, code=type(exc).__name__[:16])


def _retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22 keeps a timedelta; the public `retry_after` warns while it migrates from int.
    delay = getattr(exc, "_retry_after", None)
    if isinstance(delay, timedelta):
        return delay.total_seconds()
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def chat_id(address: str) -> int | str:
    """Telegram chat ids are integers; anything else (an @username) passes as text."""
    try:
        return int(address)
    except ValueError:
        return address


class TelegramAdapter:
    """The Telegram channel: thread-safe `send()` over one event loop that owns one Bot."""

    channels: tuple[Channel, ...] = (Channel.TELEGRAM,)

    def __init__(
        self,
        settings: Settings,
        *,
        per_second: float = DEFAULT_PER_SECOND,
        per_chat_per_second: float = DEFAULT_PER_CHAT_PER_SECOND,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
    ) -> None:
        self._rate_limit = RateLimit(per_second, per_chat_per_second)
        self._bot = build_bot(settings, connect_timeout=connect_timeout, read_timeout=read_timeout)
        # One send may first need getMe (initialize), then sendMessage: two full requests.
        self._wait = 2 * (connect_timeout + 2 * read_timeout) + 1.0
        self.longest_send = self._wait
        self._loop = asyncio.new_event_loop()
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run_loop, name="relais-telegram", daemon=True)
        # Bound to the loop on first use (Python 3.10+): one getMe at a time.
        self._initialize_lock = asyncio.Lock()
        self._thread.start()

    def rate_limit(self, channel: Channel) -> RateLimit:
        """30 messages a second overall, one a second per chat (Telegram's limits)."""
        return self._rate_limit

    def send(self, outbound: Outbound) -> Sent:
        """Send one message and wait for Telegram's answer; raise ChannelError on failure."""
        return self._call(self._send(outbound))

    def close(self) -> None:
        """Close the Bot's connections, then stop the loop and its thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._bot.shutdown(), self._loop).result(self._wait)
        except (concurrent.futures.TimeoutError, TelegramError):
            log.warning("telegram: the bot did not shut down cleanly", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=self._wait)
        if not self._thread.is_alive():
            self._loop.close()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coroutine.close()
            raise RuntimeError("the Telegram adapter is closed")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=self._wait)
        except concurrent.futures.TimeoutError:
            future.cancel()
            # The request may still have reached Telegram: a retry can, rarely, repeat it.
            raise ChannelError(
                "Telegram did not answer in time", permanent=False, code="timeout"
            ) from None

    async def _send(self, outbound: Outbound) -> Sent:
        try:
            async with self._initialize_lock:
                # A no-op once getMe has succeeded; retried on the next send if it failed.
                await self._bot.initialize()
            message = await self._bot.send_message(
                chat_id=chat_id(outbound.address),
                text=outbound.text,
                reply_markup=reply_markup(outbound.choices),
            )
        except TelegramError as exc:
            error = channel_error(exc)
            log.info(
                "telegram: message %s not sent (%s, %s): %s",
                outbound.message_id,
                error.code,
                "permanent" if error.permanent else "will retry",
                error,
            )
            raise error from exc
        # Telegram message ids are unique within a chat only.
        return Sent(provider_id=f"{message.chat_id}:{message.message_id}")
