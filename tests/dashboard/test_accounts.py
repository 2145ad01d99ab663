"""Supervisors manage accounts from /queue/accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.accounts import verify_password
from storage.db import Database
from storage.models import AuditEntry, LoginFailure, User
from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in, text

NEW = {
    "email": "Nadia@Relais.test",
    "display_name": "Nadia",
    "role": "worker",
    "password": "twelve chars ok",
}


@pytest.fixture
def signed_in(client: FlaskClient, supervisor: Credentials) -> FlaskClient:
    log_in(client, supervisor.email, supervisor.password)
    return client


def _post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> str:
    token = csrf_token(client, "/queue/accounts")
    response = client.post(path, data={**(data or {}), "csrf_token": token})
    assert response.status_code in (302, 400), response.status_code
    return text(client.get("/queue/accounts")) if response.status_code == 302 else text(response)


def _user(db: Database, email: str) -> User:
    with db.read() as session:
        return session.scalars(select(User).where(User.email == email)).one()


def _audit(db: Database) -> list[tuple[str, str, int | None, object]]:
    with db.read() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.actor, e.action, e.target_id, e.detail) for e in entries]


def test_a_supervisor_sees_every_account(
    signed_in: FlaskClient, worker: Credentials, supervisor: Credentials
) -> None:
    page = text(signed_in.get("/queue/accounts"))
    assert worker.email in page
    assert supervisor.email in page
    assert "2 comptes" in page


def test_a_supervisor_creates_an_account_that_can_log_in(
    signed_in: FlaskClient, supervisor: Credentials, db: Database
) -> None:
    page = _post(signed_in, "/queue/accounts", NEW)
    assert "Compte créé pour nadia@relais.test." in page
    user = _user(db, "nadia@relais.test")
    assert (user.role, user.display_name, user.active) == ("worker", "Nadia", True)
    assert verify_password(user.password_hash, NEW["password"])
    assert ("supervisor@relais.test", "user.create", user.id, {"role": "worker"}) in _audit(db)


def test_a_short_initial_password_is_refused(signed_in: FlaskClient, db: Database) -> None:
    page = _post(signed_in, "/queue/accounts", {**NEW, "password": "eleven char"})
    assert "Utilisez entre 12 et 256 caractères." in page
    assert 'aria-invalid="true"' in page
    with db.read() as session:
        assert session.scalar(select(User).where(User.email == "nadia@relais.test")) is None


def test_an_address_already_in_use_is_refused(signed_in: FlaskClient, worker: Credentials) -> None:
    page = _post(signed_in, "/queue/accounts", {**NEW, "email": worker.email.upper()})
    assert "Un compte utilise déjà cette adresse e-mail." in page


def test_a_malformed_address_is_refused(signed_in: FlaskClient) -> None:
    page = _post(signed_in, "/queue/accounts", {**NEW, "email": "nadia at relais"})
    assert "Ce n’est pas une adresse e-mail." in page


def test_a_deactivated_worker_is_signed_out_and_can_come_back_when_reactivated(
    app: Flask, signed_in: FlaskClient, worker: Credentials, db: Database
) -> None:
    as_worker = app.test_client()
    log_in(as_worker, worker.email, worker.password)

    page = _post(signed_in, f"/queue/accounts/{worker.id}/deactivate")
    assert "Le compte de worker@relais.test est désactivé." in page
    assert as_worker.get("/queue/").status_code == 302

    new_password = {f"account-{worker.id}-password": "a brand new password"}
    page = _post(signed_in, f"/queue/accounts/{worker.id}/reactivate", new_password)
    assert "Le compte de worker@relais.test est de nouveau actif." in page
    assert _user(db, worker.email).active
    # The session kept while the account was closed stays closed.
    assert as_worker.get("/queue/").status_code == 302
    assert "incorrect" in text(log_in(as_worker, worker.email, worker.password))
    assert log_in(as_worker, worker.email, "a brand new password").status_code == 302
    updates = [entry for entry in _audit(db) if entry[1] == "user.update"]
    assert updates == [
        ("supervisor@relais.test", "user.update", worker.id, {"active": False}),
        (
            "supervisor@relais.test",
            "user.update",
            worker.id,
            {"active": True, "new_password": True},
        ),
    ]


def test_reactivating_needs_a_long_enough_new_password(
    signed_in: FlaskClient, worker: Credentials, db: Database
) -> None:
    _post(signed_in, f"/queue/accounts/{worker.id}/deactivate")
    short = {f"account-{worker.id}-password": "too short"}
    page = _post(signed_in, f"/queue/accounts/{worker.id}/reactivate", short)
    assert "Utilisez entre 12 et 256 caractères." in page
    assert not _user(db, worker.email).active


def test_a_supervisor_changes_a_role(
    signed_in: FlaskClient, worker: Credentials, db: Database
) -> None:
    page = _post(
        signed_in,
        f"/queue/accounts/{worker.id}/role",
        {f"account-{worker.id}-role": "supervisor"},
    )
    assert "Le rôle de worker@relais.test est enregistré." in page
    assert _user(db, worker.email).role == "supervisor"
    assert (
        "supervisor@relais.test",
        "user.update",
        worker.id,
        {"role": "supervisor"},
    ) in _audit(db)


def test_a_supervisor_cannot_demote_or_deactivate_themselves(
    signed_in: FlaskClient, supervisor: Credentials, db: Database
) -> None:
    page = _post(
        signed_in,
        f"/queue/accounts/{supervisor.id}/role",
        {f"account-{supervisor.id}-role": "worker"},
    )
    assert "Vous ne pouvez pas changer votre propre rôle" in page
    page = _post(signed_in, f"/queue/accounts/{supervisor.id}/deactivate")
    assert "Vous ne pouvez pas désactiver votre propre compte" in page
    user = _user(db, supervisor.email)
    assert (user.role, user.active) == ("supervisor", True)


def test_changing_an_unknown_account_is_a_404(signed_in: FlaskClient) -> None:
    token = csrf_token(signed_in, "/queue/accounts")
    response = signed_in.post("/queue/accounts/9999/deactivate", data={"csrf_token": token})
    assert response.status_code == 404
    assert "Page introuvable" in text(response)


def test_reactivating_clears_the_login_locks(
    signed_in: FlaskClient, worker: Credentials, db: Database
) -> None:
    now = datetime.now(UTC)
    with db.write() as session:
        user = session.get(User, worker.id)
        assert user is not None
        user.active = False
        session.add(
            LoginFailure(
                user_id=worker.id,
                client="203.0.113.9",
                failures=12,
                locked_until=now + timedelta(minutes=15),
                last_failure_at=now,
            )
        )
    new_password = {f"account-{worker.id}-password": "a brand new password"}
    _post(signed_in, f"/queue/accounts/{worker.id}/reactivate", new_password)
    with db.read() as session:
        assert session.scalars(select(LoginFailure)).all() == []
