"""What the app factory binds to a Flask app, and how views reach it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, current_app

from bot.config import Settings
from bot.reception import Reception
from storage.db import Database

if TYPE_CHECKING:
    from bot.conversation import ConversationService

EXTENSION_KEY = "relais"


@dataclass
class Relais:
    """The per-app services: settings, database, reception and the conversation service."""

    settings: Settings
    database: Database
    _reception: Reception | None = field(default=None, repr=False)
    _conversations: ConversationService | None = field(default=None, repr=False)

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self

    @property
    def reception(self) -> Reception:
        """Where webhooks store messages (it needs only the database)."""
        if self._reception is None:
            self._reception = Reception(self.database)
        return self._reception

    @property
    def wake_worker(self) -> Callable[[], None] | None:
        """Rung when a message is stored; set by `relais serve`, where the worker runs."""
        return self.reception.on_received

    @wake_worker.setter
    def wake_worker(self, wake: Callable[[], None] | None) -> None:
        self.reception.on_received = wake

    @property
    def conversations(self) -> ConversationService:
        """The conversation service, built on first use (it loads every flow)."""
        if self._conversations is None:
            from bot.services import conversation_service

            self._conversations = conversation_service(
                self.database, self.settings, reception=self.reception
            )
        return self._conversations


def relais(app: Flask | None = None) -> Relais:
    """The services bound to `app` (default: the current app)."""
    target = app if app is not None else current_app
    extension: Relais = target.extensions[EXTENSION_KEY]
    return extension


def database() -> Database:
    """The current app's database."""
    return relais().database


def settings() -> Settings:
    """The current app's settings."""
    return relais().settings


def reception() -> Reception:
    """The current app's reception, where webhooks store messages."""
    return relais().reception


def conversations() -> ConversationService:
    """The current app's conversation service."""
    return relais().conversations
