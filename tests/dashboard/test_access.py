"""Who may open which dashboard page."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in, text

SUPERVISOR_PAGES = ["/queue/accounts", "/queue/audit"]


@pytest.mark.parametrize("path", ["/queue/", *SUPERVISOR_PAGES])
def test_visitors_are_sent_to_the_login_page(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("path", SUPERVISOR_PAGES)
def test_a_worker_cannot_open_supervisor_pages(
    client: FlaskClient, worker: Credentials, path: str
) -> None:
    log_in(client, worker.email, worker.password)
    response = client.get(path)
    assert response.status_code == 403
    assert "Réservé aux responsables" in text(response)


@pytest.mark.parametrize(
    "path",
    [
        "/queue/accounts",
        "/queue/accounts/{id}/role",
        "/queue/accounts/{id}/deactivate",
        "/queue/accounts/{id}/password",
        "/queue/accounts/{id}/logout",
    ],
)
def test_a_worker_cannot_post_to_supervisor_pages(
    client: FlaskClient, worker: Credentials, supervisor: Credentials, path: str
) -> None:
    log_in(client, worker.email, worker.password)
    data = {"csrf_token": csrf_token(client, "/queue/"), "account-1-role": "supervisor"}
    response = client.post(path.format(id=supervisor.id), data=data)
    assert response.status_code == 403


def test_the_menu_shows_supervisor_pages_to_supervisors_only(
    app: Flask, worker: Credentials, supervisor: Credentials
) -> None:
    as_worker, as_supervisor = app.test_client(), app.test_client()
    log_in(as_worker, worker.email, worker.password)
    log_in(as_supervisor, supervisor.email, supervisor.password)
    worker_home = text(as_worker.get("/queue/"))
    supervisor_home = text(as_supervisor.get("/queue/"))
    assert 'href="/queue/accounts"' not in worker_home
    assert 'href="/queue/audit"' not in worker_home
    assert 'href="/queue/accounts"' in supervisor_home
    assert 'href="/queue/audit"' in supervisor_home
    assert "Salomé Sup" in supervisor_home


def test_the_stylesheet_is_served_before_logging_in(client: FlaskClient) -> None:
    response = client.get("/queue/static/relais.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_dashboard_pages_are_neither_cached_nor_framed(
    client: FlaskClient, worker: Credentials
) -> None:
    log_in(client, worker.email, worker.password)
    response = client.get("/queue/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
