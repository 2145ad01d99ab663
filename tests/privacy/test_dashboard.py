"""Supervisors download a person's data and erase it from the dashboard; workers cannot."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.extensions import relais
from storage.models import AuditEntry, Contact
from tests.browser import Credentials, supervisor, worker
from tests.dashboard.client import log_in, post_form, text

from .conftest import person_with_history

__all__ = ["supervisor", "worker"]


def _erased(app: Flask, contact_id: int) -> bool:
    with relais(app).database.read() as session:
        contact = session.get(Contact, contact_id)
        return contact is not None and contact.erased_at is not None


def _actions(app: Flask) -> list[tuple[str, str]]:
    with relais(app).database.read() as session:
        return [
            (e.action, e.actor) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_a_supervisor_downloads_everything_about_a_person_and_it_is_audited(
    app: Flask, client: FlaskClient, supervisor: Credentials
) -> None:
    person = person_with_history(relais(app).conversations)
    log_in(client, supervisor.email, supervisor.password)

    response = client.get(f"/queue/contacts/{person.contact_id}/export")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert json.loads(response.data)["contact"]["display_name"] == "Nadia"
    assert ("contact.export", supervisor.email) in _actions(app)


def test_a_supervisor_erases_a_person_after_typing_their_number(
    app: Flask, client: FlaskClient, supervisor: Credentials
) -> None:
    person = person_with_history(relais(app).conversations)
    path = f"/queue/contacts/{person.contact_id}/erase"
    log_in(client, supervisor.email, supervisor.password)
    assert "Confirm the erasure" in text(client.get(path, headers={"Accept-Language": "en"}))

    wrong = post_form(client, path, {"confirm": str(person.contact_id + 1)})
    assert wrong.status_code == 400
    assert not _erased(app, person.contact_id)

    done = post_form(client, path, {"confirm": str(person.contact_id)})

    assert done.status_code == 302
    assert _erased(app, person.contact_id)
    assert ("contact.erase", supervisor.email) in _actions(app)
    assert client.get(path).status_code == 200  # now says when it was erased


def test_workers_can_neither_export_nor_erase(
    app: Flask, client: FlaskClient, worker: Credentials
) -> None:
    person = person_with_history(relais(app).conversations)
    log_in(client, worker.email, worker.password)

    assert client.get(f"/queue/contacts/{person.contact_id}/export").status_code == 403
    assert client.get(f"/queue/contacts/{person.contact_id}/erase").status_code == 403
    assert client.post(f"/queue/contacts/{person.contact_id}/erase").status_code in {400, 403}
    assert not _erased(app, person.contact_id)
    assert "contact.export" not in [action for action, _ in _actions(app)]


def test_an_unknown_contact_is_not_found(client: FlaskClient, supervisor: Credentials) -> None:
    log_in(client, supervisor.email, supervisor.password)
    assert client.get("/queue/contacts/999/export").status_code == 404
    assert client.get("/queue/contacts/999/erase").status_code == 404
