"""Passwords: guessable ones are refused everywhere one is chosen; everyone changes their
own; a password a supervisor chose must be changed before the dashboard opens."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.accounts import verify_password
from storage.db import Database
from storage.models import AuditEntry, User
from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in, post_form, text

WEAK_MESSAGE = "Ce mot de passe est trop facile à deviner."
STRONG = "lentils on a tuesday evening"
# Twelve characters or more, and still guessed in seconds. The worker is Wassim Worker.
WEAK = ["aaaaaaaaaaaa", "password1234", "Wassim Worker 2026", "wassimworker1"]


def _signed_in(app: Flask, account: Credentials) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, account.email, account.password).status_code == 302
    return client


def _user(db: Database, email: str) -> User:
    with db.read() as session:
        return session.scalars(select(User).where(User.email == email)).one()


def _change(client: FlaskClient, current: str, new: str, confirm: str | None = None) -> str:
    response = post_form(
        client,
        "/queue/password",
        {"current": current, "new": new, "confirm": new if confirm is None else confirm},
    )
    if response.status_code == 302:
        return text(client.get(response.location))
    return text(response)


@pytest.mark.parametrize("weak", [*WEAK, "azertyuiop123"])
def test_a_guessable_initial_password_is_refused(
    app: Flask, supervisor: Credentials, db: Database, weak: str
) -> None:
    boss = _signed_in(app, supervisor)
    new = {"email": "wassim@relais.test", "display_name": "Wassim Worker", "role": "worker"}
    response = post_form(boss, "/queue/accounts", {**new, "password": weak})
    assert response.status_code == 400
    assert WEAK_MESSAGE in text(response)
    with db.read() as session:
        assert session.scalar(select(User).where(User.email == "wassim@relais.test")) is None


@pytest.mark.parametrize("weak", WEAK)
def test_a_guessable_password_is_refused_when_a_supervisor_resets_one(
    app: Flask, supervisor: Credentials, worker: Credentials, db: Database, weak: str
) -> None:
    boss = _signed_in(app, supervisor)
    response = post_form(
        boss,
        f"/queue/accounts/{worker.id}/password",
        {f"reset-{worker.id}-password": weak},
        page="/queue/accounts",
    )
    assert response.status_code == 302
    assert WEAK_MESSAGE in text(boss.get("/queue/accounts"))
    assert verify_password(_user(db, worker.email).password_hash, worker.password)


@pytest.mark.parametrize("weak", WEAK)
def test_a_guessable_password_is_refused_on_the_change_page(
    app: Flask, worker: Credentials, db: Database, weak: str
) -> None:
    page = _change(_signed_in(app, worker), worker.password, weak)
    assert WEAK_MESSAGE in page
    assert verify_password(_user(db, worker.email).password_hash, worker.password)


def test_a_guessable_password_is_refused_on_reactivation(
    app: Flask, supervisor: Credentials, worker: Credentials, db: Database
) -> None:
    boss = _signed_in(app, supervisor)
    post_form(boss, f"/queue/accounts/{worker.id}/deactivate", {}, page="/queue/accounts")
    post_form(
        boss,
        f"/queue/accounts/{worker.id}/reactivate",
        {f"account-{worker.id}-password": "password1234"},
        page="/queue/accounts",
    )
    assert WEAK_MESSAGE in text(boss.get("/queue/accounts"))
    assert not _user(db, worker.email).active


def test_every_worker_finds_the_change_page_in_the_menu(app: Flask, worker: Credentials) -> None:
    home = text(_signed_in(app, worker).get("/queue/"))
    assert 'href="/queue/password"' in home
    assert "Mon mot de passe" in home


def test_a_worker_changes_their_password(app: Flask, worker: Credentials, db: Database) -> None:
    client = _signed_in(app, worker)
    page = _change(client, worker.password, STRONG)
    assert "Votre mot de passe est changé." in page
    user = _user(db, worker.email)
    assert verify_password(user.password_hash, STRONG)
    assert not user.must_change_password
    assert log_in(app.test_client(), worker.email, STRONG).status_code == 302
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert (entry.actor, entry.target_id, entry.detail) == (
        worker.email,
        worker.id,
        {"new_password": True},
    )


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("not my password at all", STRONG, STRONG, "Ce n’est pas votre mot de passe actuel."),
        (None, STRONG, "lentils on a wednesday", "Les deux nouveaux mots de passe diffèrent."),
        (None, "short one", "short one", "Utilisez entre 12 et 256 caractères."),
        (None, None, None, "Choisissez un mot de passe différent de l’actuel."),
    ],
)
def test_the_change_page_refuses_with_a_reason(
    app: Flask,
    worker: Credentials,
    db: Database,
    current: str | None,
    new: str | None,
    confirm: str | None,
    message: str,
) -> None:
    client = _signed_in(app, worker)
    page = _change(
        client, current or worker.password, new or worker.password, confirm or worker.password
    )
    assert message in page
    assert verify_password(_user(db, worker.email).password_hash, worker.password)


def test_a_password_chosen_by_a_supervisor_must_be_changed_first(
    app: Flask, supervisor: Credentials, db: Database
) -> None:
    boss = _signed_in(app, supervisor)
    new = {"email": "nadia@relais.test", "display_name": "Nadia", "role": "worker"}
    post_form(boss, "/queue/accounts", {**new, "password": "her first password here"})
    assert _user(db, "nadia@relais.test").must_change_password

    nadia = app.test_client()
    assert log_in(nadia, "nadia@relais.test", "her first password here").status_code == 302
    for path in ["/queue/", "/queue/checkins", "/simulator/"]:
        response = nadia.get(path)
        assert (response.status_code, response.location) == (302, "/queue/password"), path
    change_page = text(nadia.get("/queue/password"))
    assert "Votre mot de passe a été choisi par quelqu’un d’autre." in change_page
    assert 'href="/queue/checkins"' not in change_page  # no menu until then
    # The page itself and logging out stay open; the stylesheet too.
    assert nadia.get("/queue/static/relais.css").status_code == 200

    _change(nadia, "her first password here", STRONG)
    assert not _user(db, "nadia@relais.test").must_change_password
    assert nadia.get("/queue/").status_code == 200


def test_a_supervisor_reset_ends_the_sessions_and_must_be_changed(
    app: Flask, supervisor: Credentials, worker: Credentials, db: Database
) -> None:
    desk = _signed_in(app, worker)
    boss = _signed_in(app, supervisor)
    token = csrf_token(boss, "/queue/accounts")
    response = boss.post(
        f"/queue/accounts/{worker.id}/password",
        data={"csrf_token": token, f"reset-{worker.id}-password": STRONG},
    )
    assert response.status_code == 302
    assert "worker@relais.test a un nouveau mot de passe" in text(boss.get("/queue/accounts"))
    assert desk.get("/queue/").location.startswith("/login")
    assert "incorrect" in text(log_in(desk, worker.email, worker.password))
    assert log_in(desk, worker.email, STRONG).status_code == 302
    assert desk.get("/queue/").location == "/queue/password"
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert (entry.actor, entry.target_id, entry.detail) == (
        supervisor.email,
        worker.id,
        {"new_password": True},
    )


def test_a_must_change_worker_can_still_log_out(
    app: Flask, supervisor: Credentials, worker: Credentials
) -> None:
    boss = _signed_in(app, supervisor)
    post_form(
        boss,
        f"/queue/accounts/{worker.id}/password",
        {f"reset-{worker.id}-password": STRONG},
        page="/queue/accounts",
    )
    desk = app.test_client()
    log_in(desk, worker.email, STRONG)
    response = post_form(desk, "/logout", {}, page="/queue/password")
    assert (response.status_code, response.location) == (302, "/login")
