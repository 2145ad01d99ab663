"""CSRF tokens are required on dashboard forms, never on webhooks or other routes."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import Settings
from bot.extensions import relais
from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in


def _echo_blueprint(name: str, path: str) -> Blueprint:
    blueprint = Blueprint(name, __name__)

    @blueprint.post(path)
    def receive() -> str:
        return "ok"

    return blueprint


def test_posts_outside_the_dashboard_need_no_token(settings: Settings) -> None:
    app: Flask = create_app({"TESTING": True}, settings=settings)
    try:
        # The dashboard is bound by the factory; a blueprint added afterwards needs no token.
        app.register_blueprint(_echo_blueprint("after_webhook", "/webhooks/after"))
        app.config["WTF_CSRF_ENABLED"] = True
        client = app.test_client()
        twilio = client.post("/webhooks/twilio", data={"Body": "bonjour"})
        assert twilio.status_code != 400  # refused for its signature (or Twilio off), not CSRF
        assert client.post("/webhooks/after", data={"Body": "bonjour"}).status_code == 200
        assert client.post("/login", data={"email": "a@b.c", "password": "x"}).status_code == 400
    finally:
        relais(app).database.dispose()


def test_a_dashboard_form_posted_without_its_token_is_refused(
    client: FlaskClient, supervisor: Credentials
) -> None:
    log_in(client, supervisor.email, supervisor.password)
    data = {"email": "new@relais.test", "role": "worker", "password": "a long enough password"}
    assert client.post("/queue/accounts", data=data).status_code == 400
    assert client.post("/queue/accounts", data={**data, "csrf_token": "forged"}).status_code == 400
    valid = client.post(
        "/queue/accounts", data={**data, "csrf_token": csrf_token(client, "/queue/")}
    )
    assert valid.status_code == 302


def test_a_token_from_another_session_is_refused(
    app: Flask, client: FlaskClient, supervisor: Credentials
) -> None:
    other = app.test_client()
    stolen = csrf_token(other)
    log_in(client, supervisor.email, supervisor.password)
    response = client.post("/queue/accounts/1/deactivate", data={"csrf_token": stolen})
    assert response.status_code == 400
