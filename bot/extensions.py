"""What the app factory binds to a Flask app, and how views reach it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from bot.config import Settings
from storage.db import Database

EXTENSION_KEY = "relais"


@dataclass
class Relais:
    """The per-app services: settings and database."""

    settings: Settings
    database: Database

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self


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
