"""GET /healthz."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import Settings


def test_it_answers_200_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["status"] == "ok"
    assert response.json["database"] == "ok"


def test_it_answers_503_when_the_database_is_unreachable(
    settings: Settings, tmp_path: Path
) -> None:
    unreachable = f"sqlite:///{tmp_path}/no/such/folder/relais.db"
    app = create_app(
        {"TESTING": True}, settings=settings.with_overrides({"database_url": unreachable})
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["status"] == "unavailable"
    assert response.json["database"] == "unreachable"
