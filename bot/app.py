"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.config import Settings, instance_secret_key
from bot.crypto import bind_keys
from bot.extensions import Relais
from storage.db import Database


def create_app(
    overrides: Mapping[str, Any] | None = None, *, settings: Settings | None = None
) -> Flask:
    """Build the web app: defaults, then the environment, then `overrides`.

    Keys of `overrides` that name a `Settings` field (`database_url`, `secret_key`…)
    replace that setting; any other key goes to Flask's config (`TESTING`…).
    """
    settings = settings if settings is not None else Settings.from_env()
    overrides = dict(overrides or {})
    setting_names = set(Settings.__dataclass_fields__)
    settings = settings.with_overrides({k: v for k, v in overrides.items() if k in setting_names})
    flask_overrides = {k: v for k, v in overrides.items() if k not in setting_names}

    app = Flask(__name__, instance_path=str(Path.cwd() / "instance"))
    configure_logging(settings.log_level)
    # Keys are process configuration: bound here and by the CLI, never at import time.
    bind_keys(settings.encryption_keys)
    app.config.update(
        SECRET_KEY=settings.secret_key or instance_secret_key(Path(app.instance_path)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.public_url and settings.public_url.startswith("https")),
        # Webhook bodies are small; a large one is a mistake or an attack.
        MAX_CONTENT_LENGTH=256 * 1024,
        JSON_SORT_KEYS=False,
    )
    # The queue's SLA clocks (bot/cases.py reads them from the app config).
    app.config.update(
        RELAIS_SLA_URGENT_MINUTES=settings.sla_urgent_minutes,
        RELAIS_SLA_HIGH_MINUTES=settings.sla_high_minutes,
        RELAIS_SLA_NORMAL_WORKING_DAYS=settings.sla_normal_working_days,
        RELAIS_SLA_LOW_WORKING_DAYS=settings.sla_low_working_days,
    )
    app.config.update(flask_overrides)

    Relais(settings=settings, database=Database(settings.database_url)).init_app(app)

    from bot import health
    from bot.channels import telegram_webhook, twilio_webhook

    app.register_blueprint(health.blueprint)
    app.register_blueprint(twilio_webhook.blueprint)
    app.register_blueprint(telegram_webhook.blueprint)

    from bot.dashboard import init_dashboard
    from bot.dashboard.security import protect_every_response

    init_dashboard(app)
    protect_every_response(app)
    if settings.trusted_proxies:
        # Behind a reverse proxy: the client's address, scheme and host come from its
        # X-Forwarded-* headers (login throttling, Twilio signatures, secure cookies).
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def configure_logging(level: str) -> None:
    """One plain line per event on stderr, where PaaS and systemd collect logs."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        root.setLevel(level)
