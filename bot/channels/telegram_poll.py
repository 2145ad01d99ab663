"""Telegram set-up and local development: register the webhook, or long-poll for updates.

`poll` only receives: it hands each update to the same parsing and conversation service
as the webhook, and the dispatcher sends the replies, exactly as in production.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable
from typing import TypeVar

from telegram import Bot
from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot import clock
from bot.channels.telegram import REJECTED_BOT_CREDENTIALS, build_bot, channel_error
from bot.channels.telegram_webhook import ALLOWED_UPDATES, MalformedUpdate, receive_update
from bot.config import ConfigError, Settings
from bot.conversation import ConversationService

log = logging.getLogger(__name__)

T = TypeVar("T")

# How often a wait checks whether it was asked to stop.
_TICK_SECONDS = 0.2


class TelegramUnavailable(Exception):
    """Telegram refused the request or could not be reached; the message says why."""


class _Stopped(Exception):
    """The stop event was set while waiting."""


def webhook_url(settings: Settings, url: str | None = None) -> str:
    """The URL Telegram should call: `url`, else PUBLIC_URL + /webhooks/telegram."""
    if url:
        return url
    if not settings.public_url:
        raise ConfigError("PUBLIC_URL", "must be set (or pass the webhook URL explicitly)")
    return f"{settings.public_url}/webhooks/telegram"


def set_webhook(settings: Settings, url: str) -> None:
    """Ask Telegram to deliver messages and edits to `url`, signed with the webhook secret."""
    if not settings.telegram_webhook_secret:
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET", "must be set: the webhook refuses calls without it"
        )
    asyncio.run(_set_webhook(build_bot(settings), url, settings.telegram_webhook_secret))


async def _set_webhook(bot: Bot, url: str, secret: str) -> None:
    try:
        async with bot:
            await bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))
    except TelegramError as exc:
        # channel_error() words it without the token, which PTB's InvalidToken repeats.
        raise TelegramUnavailable(f"Telegram refused the webhook: {channel_error(exc)}") from None
    log.info("telegram: webhook set to %s", url)


def poll(
    settings: Settings,
    service: ConversationService,
    stop_event: threading.Event,
    *,
    long_poll_seconds: int = 25,
    retry_seconds: float = 5.0,
) -> int:
    """Receive updates with getUpdates until `stop_event` is set; return how many were handled.

    Removes the webhook first (Telegram refuses getUpdates while one is set). Returns
    within about a second of `stop_event`. Network trouble is logged and retried; an
    invalid token raises TelegramUnavailable.
    """
    poller = _Poller(build_bot(settings), service, stop_event, long_poll_seconds, retry_seconds)
    return asyncio.run(poller.run())


class _Poller:
    def __init__(
        self,
        bot: Bot,
        service: ConversationService,
        stop_event: threading.Event,
        long_poll_seconds: int,
        retry_seconds: float,
    ) -> None:
        self.bot = bot
        self.service = service
        self.stop_event = stop_event
        self.long_poll_seconds = long_poll_seconds
        self.retry_seconds = retry_seconds
        # The next update_id wanted: asking for it confirms every earlier one to Telegram.
        self.offset: int | None = None
        self.handled = 0

    async def run(self) -> int:
        try:
            await self._connect()
            while not self.stop_event.is_set():
                await self._poll_once()
        except _Stopped:
            pass
        finally:
            await self.bot.shutdown()
        log.info("telegram: polling stopped after %d update(s)", self.handled)
        return self.handled

    async def _connect(self) -> None:
        while True:
            try:
                await self._until_stopped(self.bot.initialize())
                await self._until_stopped(self.bot.delete_webhook())
            except TelegramError as exc:
                await self._after_error(exc)
                continue
            log.info("telegram: polling for updates as @%s", self.bot.username)
            return

    async def _poll_once(self) -> None:
        try:
            updates = await self._until_stopped(
                self.bot.get_updates(
                    offset=self.offset,
                    timeout=self.long_poll_seconds,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            )
        except TelegramError as exc:
            await self._after_error(exc)
            return
        for update in updates:
            if self.stop_event.is_set():
                return
            try:
                receive_update(self.service.reception, update.to_dict(), clock.now())
            except MalformedUpdate as exc:
                log.warning("telegram: skipping update %s: %s", update.update_id, exc)
            except Exception:
                # The database is down, say: keep the offset so the update comes again.
                log.exception("telegram: update %s failed; retrying", update.update_id)
                await self._sleep(self.retry_seconds)
                return
            else:
                self.handled += 1
            self.offset = update.update_id + 1

    async def _after_error(self, exc: TelegramError) -> None:
        if isinstance(exc, InvalidToken):
            # Not `from exc`: PTB's message repeats the token.
            raise TelegramUnavailable(REJECTED_BOT_CREDENTIALS) from None
        delay = self.retry_seconds
        if isinstance(exc, RetryAfter):
            delay = max(delay, channel_error(exc).retry_after or 0.0)
        log.warning("telegram: %s; trying again in %.0f s", exc, delay)
        await self._sleep(delay)

    async def _until_stopped(self, awaitable: Awaitable[T]) -> T:
        # A long poll can last 25 s: cancel it rather than make Ctrl-C wait. A cancelled
        # getUpdates loses nothing, since only a later offset confirms updates.
        task = asyncio.ensure_future(awaitable)
        while True:
            done, _ = await asyncio.wait({task}, timeout=_TICK_SECONDS)
            if done:
                return task.result()
            if self.stop_event.is_set():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise _Stopped

    async def _sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while loop.time() < until:
            if self.stop_event.is_set():
                raise _Stopped
            await asyncio.sleep(min(_TICK_SECONDS, until - loop.time()))
