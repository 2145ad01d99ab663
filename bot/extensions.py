"""What the app factory binds to a Flask app, and how views reach it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, current_app

from bot.config import Settings
from storage.db import Database

if TYPE_CHECKING:
    from bot.conversation import ConversationService

EXTENSION_KEY = "relais"


@dataclass
class Relais:
    """The per-app services: settings, database, and the conversation service."""

    settings: Settings
    database: Database
    _conversations: ConversationService | None = field(default=None, repr=False)
    # Set by `relais serve`, where the worker runs in the same process: wakes it.
    wake_worker: Callable[[], None] | None = field(default=None, repr=False)

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self

    @property
    def conversations(self) -> ConversationService:
        """The conversation service, built on first use (it loads every flow)."""
        if self._conversations is None:
            from bot.services import conversation_service

            self._conversations = conversation_service(self.database, self.settings)
            self._conversations.on_received = self.wake_worker
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


def conversations() -> ConversationService:
    """The current app's conversation service."""
    return relais().conversations
