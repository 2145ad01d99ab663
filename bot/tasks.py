"""The background tasks a worker runs, built from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from bot import alerts, checkins, privacy
from bot.channels.base import ChannelAdapter
from bot.channels.simulator import SimulatorAdapter
from bot.config import ConfigError, Settings
from bot.dispatch import Dispatcher, LeaseTooShort
from bot.inbox import Inbox
from bot.services import conversation_service
from bot.timeouts import expire_due_waits
from bot.worker import Task
from storage.db import Database


@dataclass
class Background:
    """Tasks, and what to close when the worker stops."""

    tasks: list[Task]
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()


def channel_adapters(settings: Settings) -> list[ChannelAdapter]:
    """An adapter per configured channel; the simulator is always there."""
    adapters: list[ChannelAdapter] = [SimulatorAdapter()]
    if settings.twilio_enabled:
        from bot.channels.twilio import TwilioAdapter

        adapters.append(
            TwilioAdapter(
                settings,
                sms_per_second=settings.twilio_sms_rate,
                whatsapp_per_second=settings.twilio_whatsapp_rate,
                per_address_per_second=settings.twilio_per_number_rate,
            )
        )
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramAdapter

        adapters.append(
            TelegramAdapter(
                settings,
                per_second=settings.telegram_rate,
                per_chat_per_second=settings.telegram_per_chat_rate,
            )
        )
    return adapters


def build_background(settings: Settings, database: Database) -> Background:
    """Everything the worker does in the background, on one database."""
    service = conversation_service(database, settings)
    inbox = Inbox(service)
    adapters = channel_adapters(settings)
    try:
        dispatcher = Dispatcher(
            database, adapters, lease=timedelta(seconds=settings.dispatch_lease_seconds)
        )
    except LeaseTooShort as error:
        for adapter in adapters:
            adapter.close()
        raise ConfigError("RELAIS_DISPATCH_LEASE_SECONDS", str(error)) from None
    return Background(
        tasks=[
            Task("dispatch", dispatcher.run_once, every=0.0),
            Task("dispatch urgent", dispatcher.run_urgent, every=0.0),
            Task("timeouts", partial(expire_due_waits, service), every=30.0),
            Task("checkins", partial(checkins.tick, service), every=60.0),
            Task("inbox", inbox.run_once, every=0.0),
            alerts.unclaimed_task(database, settings),
            privacy.purge_task(database, settings),
        ],
        closers=[inbox.close, dispatcher.close, database.dispose],
    )
