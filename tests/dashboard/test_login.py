"""Logging in and out of the dashboard."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from storage.db import Database
from storage.models import AuditEntry, User
from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in, post_form, text

GENERIC_REFUSAL = "L’adresse e-mail ou le mot de passe est incorrect"


def _audit(db: Database, action: str) -> list[AuditEntry]:
    with db.read() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(query))


def test_a_worker_logs_in_and_lands_on_the_home_page(
    client: FlaskClient, worker: Credentials, db: Database
) -> None:
    response = log_in(client, worker.email, worker.password)
    assert response.status_code == 302
    assert response.location == "/queue/"
    home = client.get("/queue/")
    assert home.status_code == 200
    assert "Connecté·e : Wassim Worker" in text(home)
    with db.read() as session:
        user = session.get(User, worker.id)
        assert user is not None
        assert user.last_login_at is not None


def test_the_e_mail_is_matched_whatever_its_case_and_spaces(
    client: FlaskClient, worker: Credentials
) -> None:
    response = log_in(client, "  Worker@Relais.TEST ", worker.password)
    assert response.status_code == 302


def test_a_visitor_is_sent_to_the_login_page_and_back_after_logging_in(
    client: FlaskClient, supervisor: Credentials
) -> None:
    response = client.get("/queue/audit?action=login")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    login_page = client.get(response.location)
    assert 'name="next" type="hidden" value="/queue/audit?action=login"' in text(login_page)
    response = log_in(
        client, supervisor.email, supervisor.password, next="/queue/audit?action=login"
    )
    assert response.location == "/queue/audit?action=login"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "http:/evil.example",
        "javascript:alert(1)",
        "queue/",
    ],
)
def test_next_never_leads_to_another_site(
    client: FlaskClient, worker: Credentials, target: str
) -> None:
    response = log_in(client, worker.email, worker.password, next=target)
    assert response.location == "/queue/"


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(
    client: FlaskClient, worker: Credentials
) -> None:
    wrong_password = log_in(client, worker.email, "not the password at all")
    unknown = log_in(client, "nobody@relais.test", worker.password)
    assert wrong_password.status_code == unknown.status_code == 200
    assert GENERIC_REFUSAL in text(wrong_password)
    assert GENERIC_REFUSAL in text(unknown)
    assert "nobody@relais.test" in text(unknown)  # the typed address is kept in the form
    assert "not the password at all" not in text(wrong_password)


def test_a_deactivated_account_cannot_log_in(
    client: FlaskClient, worker: Credentials, db: Database
) -> None:
    with db.write() as session:
        user = session.get(User, worker.id)
        assert user is not None
        user.active = False
    response = log_in(client, worker.email, worker.password)
    assert GENERIC_REFUSAL in text(response)
    assert client.get("/queue/").status_code == 302


def test_deactivating_an_account_ends_its_open_sessions(
    client: FlaskClient, worker: Credentials, db: Database
) -> None:
    log_in(client, worker.email, worker.password)
    assert client.get("/queue/").status_code == 200
    with db.write() as session:
        user = session.get(User, worker.id)
        assert user is not None
        user.active = False
    assert client.get("/queue/").status_code == 302


def test_logging_out_ends_the_session(client: FlaskClient, worker: Credentials) -> None:
    log_in(client, worker.email, worker.password)
    response = post_form(client, "/logout", {}, page="/queue/")
    assert response.status_code == 302
    assert response.location == "/login"
    assert "Vous êtes déconnecté·e." in text(client.get("/login"))
    assert client.get("/queue/").status_code == 302


def test_logging_out_needs_a_post_with_its_token(client: FlaskClient, worker: Credentials) -> None:
    log_in(client, worker.email, worker.password)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/queue/").status_code == 200


def test_logins_and_logouts_are_audited_without_the_password(
    client: FlaskClient, worker: Credentials, db: Database
) -> None:
    log_in(client, worker.email, "a wrong password here")
    log_in(client, "nobody@relais.test", "another wrong one")
    log_in(client, worker.email, worker.password)
    post_form(client, "/logout", {}, page="/queue/")

    failed = _audit(db, "login_failed")
    assert [(e.actor, e.target_id, e.detail) for e in failed] == [
        ("anonymous", worker.id, {"reason": "mismatch", "failures": 1}),
        ("anonymous", None, {"reason": "unknown_account"}),
    ]
    assert all(e.ip == "127.0.0.1" for e in failed)
    (login,) = _audit(db, "login")
    assert (login.actor, login.actor_id, login.target_id) == (worker.email, worker.id, worker.id)
    (logout,) = _audit(db, "logout")
    assert (logout.actor, logout.actor_id) == (worker.email, worker.id)
    with db.read() as session:
        everything = repr([(e.actor, e.detail) for e in session.scalars(select(AuditEntry))])
    assert "wrong" not in everything
    assert "nobody@relais.test" not in everything


def test_a_login_form_without_its_csrf_token_is_refused(
    client: FlaskClient, worker: Credentials
) -> None:
    csrf_token(client)  # a session exists, only the token is missing
    response = client.post("/login", data={"email": worker.email, "password": worker.password})
    assert response.status_code == 400
    assert "Ce formulaire a expiré" in text(response)
    assert client.get("/queue/").status_code == 302


def test_a_signed_in_worker_opening_the_login_page_goes_home(
    client: FlaskClient, worker: Credentials
) -> None:
    log_in(client, worker.email, worker.password)
    response = client.get("/login")
    assert response.status_code == 302
    assert response.location == "/queue/"


def test_the_session_cookie_is_http_only_and_same_site(
    client: FlaskClient, worker: Credentials
) -> None:
    response = log_in(client, worker.email, worker.password)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "remember_token" not in str(response.headers)
