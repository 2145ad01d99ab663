"""Behind a reverse proxy, and the headers every response carries (issue 13, points 5-7)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from bot.app import create_app
from bot.config import ConfigError, Settings
from bot.extensions import relais
from tests.browser import Credentials
from tests.dashboard.client import log_in

TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM": "+33639980000",
}


@pytest.mark.parametrize("path", ["/healthz", "/no-such-page", "/queue/"])
def test_every_response_carries_the_protective_headers(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    # Plain HTTP, no proxy: no HSTS (it would pin a development machine to HTTPS).
    assert "Strict-Transport-Security" not in response.headers


def test_a_webhook_answer_carries_them_too(app: Flask) -> None:
    response = app.test_client().post("/webhooks/twilio", data={"Body": "x"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def proxied_app(settings: Settings) -> Iterator[Flask]:
    application = create_app(
        {"TESTING": True}, settings=settings.with_overrides({"trusted_proxies": 1})
    )
    yield application
    relais(application).database.dispose()


def test_https_said_by_a_trusted_proxy_marks_cookies_secure_and_sends_hsts(
    proxied_app: Flask, worker: Credentials
) -> None:
    client = proxied_app.test_client()
    client.environ_base.update(
        {
            "HTTP_X_FORWARDED_PROTO": "https",
            "HTTP_X_FORWARDED_FOR": "203.0.113.7",
            # Flask-WTF checks the referrer of a form posted over HTTPS.
            "HTTP_REFERER": "https://localhost/login",
        }
    )
    response = log_in(client, worker.email, worker.password)
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    assert all("; Secure" in cookie for cookie in cookies)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_without_a_trusted_proxy_forwarded_https_is_not_believed(
    app: Flask, worker: Credentials
) -> None:
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    response = log_in(client, worker.email, worker.password)
    assert all("Secure" not in cookie for cookie in response.headers.getlist("Set-Cookie"))
    assert "Strict-Transport-Security" not in response.headers


def test_production_with_twilio_requires_public_url() -> None:
    keys = Fernet.generate_key().decode()
    production = {"RELAIS_ENV": "production", "RELAIS_ENCRYPTION_KEYS": keys, **TWILIO}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(production)
    assert refused.value.variable == "PUBLIC_URL"
    assert Settings.from_env({**production, "PUBLIC_URL": "https://relais.example.org"})
    # Development keeps working without it (the Host header is then trusted).
    assert Settings.from_env(TWILIO).twilio_enabled
