"""Sessions end on the server: a copy of the cookie is worth nothing once they have ended
(logout, a new password, deactivation, a supervisor's "log out everywhere")."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEntry
from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in, post_form, text

NEW_PASSWORD = "lentils on a tuesday evening"


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, cookie: str) -> FlaskClient:
    """Another browser holding a copy of the cookie (stolen, or kept from before)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def _is_sent_to_login(client: FlaskClient) -> bool:
    response = client.get("/queue/")
    return response.status_code == 302 and response.location.startswith("/login")


def _signed_in(app: Flask, account: Credentials) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, account.email, account.password).status_code == 302
    return client


def test_a_copy_of_the_cookie_works_while_the_session_lasts(
    app: Flask, worker: Credentials
) -> None:
    client = _signed_in(app, worker)
    assert _replay(app, _cookie(client)).get("/queue/").status_code == 200


def test_a_cookie_replayed_after_logout_gets_the_login_page(
    app: Flask, worker: Credentials
) -> None:
    client = _signed_in(app, worker)
    cookie = _cookie(client)
    assert post_form(client, "/logout", {}, page="/queue/").status_code == 302

    thief = _replay(app, cookie)
    assert _is_sent_to_login(thief)
    # A refreshed copy (the cookie is re-signed at each request) is no better.
    assert _is_sent_to_login(_replay(app, _cookie(thief)))


def test_logging_out_ends_the_accounts_sessions_on_other_devices(
    app: Flask, worker: Credentials
) -> None:
    desk, phone = _signed_in(app, worker), _signed_in(app, worker)
    post_form(desk, "/logout", {}, page="/queue/")
    assert _is_sent_to_login(phone)
    again = _signed_in(app, worker)
    assert again.get("/queue/").status_code == 200


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(
    app: Flask, worker: Credentials
) -> None:
    client, phone = _signed_in(app, worker), _signed_in(app, worker)
    cookie = _cookie(client)
    response = post_form(
        client,
        "/queue/password",
        {"current": worker.password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/queue/").status_code == 200
    assert _is_sent_to_login(phone)
    assert _is_sent_to_login(_replay(app, cookie))


def test_a_cookie_replayed_after_deactivation_gets_the_login_page_even_once_reactivated(
    app: Flask, worker: Credentials, supervisor: Credentials
) -> None:
    cookie = _cookie(_signed_in(app, worker))
    boss = _signed_in(app, supervisor)
    token = csrf_token(boss, "/queue/accounts")
    boss.post(f"/queue/accounts/{worker.id}/deactivate", data={"csrf_token": token})
    assert _is_sent_to_login(_replay(app, cookie))

    boss.post(
        f"/queue/accounts/{worker.id}/reactivate",
        data={"csrf_token": token, f"account-{worker.id}-password": NEW_PASSWORD},
    )
    assert _is_sent_to_login(_replay(app, cookie))


def test_a_supervisor_logs_an_account_out_everywhere_and_it_is_audited(
    app: Flask, worker: Credentials, supervisor: Credentials, db: Database
) -> None:
    desk, phone = _signed_in(app, worker), _signed_in(app, worker)
    boss = _signed_in(app, supervisor)
    accounts = text(boss.get("/queue/accounts"))
    assert f'action="/queue/accounts/{worker.id}/logout"' in accounts

    response = post_form(boss, f"/queue/accounts/{worker.id}/logout", {}, page="/queue/accounts")
    assert response.status_code == 302
    assert "worker@relais.test est déconnecté·e partout." in text(boss.get("/queue/accounts"))
    assert _is_sent_to_login(desk)
    assert _is_sent_to_login(phone)
    # Their password still works: they only have to log in again.
    assert _signed_in(app, worker).get("/queue/").status_code == 200
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert (entry.actor, entry.target_id, entry.detail) == (
        supervisor.email,
        worker.id,
        {"sessions_ended": True},
    )


def test_a_supervisor_logging_themselves_out_everywhere_ends_this_session_too(
    app: Flask, supervisor: Credentials
) -> None:
    boss, laptop = _signed_in(app, supervisor), _signed_in(app, supervisor)
    path = f"/queue/accounts/{supervisor.id}/logout"
    response = post_form(boss, path, {}, page="/queue/accounts")
    assert (response.status_code, response.location) == (302, "/login")
    assert _is_sent_to_login(boss)
    assert _is_sent_to_login(laptop)


def test_logging_out_everywhere_needs_a_supervisor_and_a_token(
    app: Flask, worker: Credentials, supervisor: Credentials
) -> None:
    desk = _signed_in(app, worker)
    boss = _signed_in(app, supervisor)
    assert boss.post(f"/queue/accounts/{worker.id}/logout").status_code == 400
    mallory = _signed_in(app, worker)
    token = csrf_token(mallory, "/queue/")
    forbidden = mallory.post(f"/queue/accounts/{supervisor.id}/logout", data={"csrf_token": token})
    assert forbidden.status_code == 403
    assert desk.get("/queue/").status_code == 200
    assert boss.get("/queue/").status_code == 200
