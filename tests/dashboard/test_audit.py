"""The audit helper, and the audit log page supervisors filter."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot import audit
from storage.db import Database
from storage.models import AuditEntry, User
from tests.browser import Credentials
from tests.conftest import FrozenClock
from tests.dashboard.client import log_in, text


@pytest.fixture
def signed_in(client: FlaskClient, supervisor: Credentials) -> FlaskClient:
    log_in(client, supervisor.email, supervisor.password)
    return client


def _table(response_text: str) -> str:
    """The rows of the log, without the filter form's option labels."""
    return response_text.split("<tbody>", 1)[1] if "<tbody>" in response_text else ""


def _targets(response_text: str) -> list[int]:
    return [int(n) for n in re.findall(r"contact #(\d+)", _table(response_text))]


def _add(db: Database, at: datetime, actor: str, action: str, target_id: int = 1) -> None:
    with db.write() as session:
        entry = audit.record(
            session, actor=actor, action=action, target_type="contact", target_id=target_id
        )
        entry.at = at


def test_record_names_a_user_actor_by_id_and_e_mail(db: Database, worker: Credentials) -> None:
    with db.write() as session:
        user = session.get(User, worker.id)
        assert user is not None
        audit.record(
            session,
            actor=user,
            action=audit.CASE_CLAIM,
            target_type="case",
            target_id=7,
            detail={"priority": "urgent"},
            ip="192.0.2.1",
        )
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.claim")).one()
    assert (entry.actor_id, entry.actor, entry.target_type, entry.target_id) == (
        worker.id,
        worker.email,
        "case",
        7,
    )
    assert (entry.detail, entry.ip) == ({"priority": "urgent"}, "192.0.2.1")


@pytest.mark.parametrize(("actor", "shown"), [("cli", "cli"), (None, "system")])
def test_record_names_other_actors_by_a_word(db: Database, actor: str | None, shown: str) -> None:
    with db.write() as session:
        entry = audit.record(session, actor=actor, action=audit.CONTACT_ERASE)
    assert (entry.actor, entry.actor_id) == (shown, None)


def test_record_refuses_an_action_outside_the_vocabulary(db: Database) -> None:
    with db.write() as session, pytest.raises(audit.AuditError, match="unknown audit action"):
        audit.record(session, actor="cli", action="case.deleted")


@pytest.mark.parametrize(
    "detail",
    [
        {"text": "Bonjour, je voudrais parler à quelqu'un, je ne vais pas bien du tout ce soir."},
        {"answers": ["a", "b"]},
    ],
)
def test_record_refuses_content_in_the_detail(db: Database, detail: dict[str, object]) -> None:
    with db.write() as session, pytest.raises(audit.AuditError):
        audit.record(session, actor="cli", action=audit.CASE_REPLY, detail=detail)  # type: ignore[arg-type]


def test_the_log_shows_the_newest_entries_first(
    signed_in: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    _add(db, frozen_clock.now() - timedelta(days=2), "cli", audit.CONTACT_EXPORT)
    _add(db, frozen_clock.now() - timedelta(days=1), "cli", audit.CONTACT_ERASE)
    page = text(signed_in.get("/queue/audit"))
    rows = _table(page)
    assert rows.index("Données de la personne effacées") < rows.index(
        "Données de la personne exportées"
    )
    assert "heures de Europe/Paris" in page


def test_the_log_filters_by_actor_action_and_dates(
    signed_in: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    # 2026-11-20 at 23:30 UTC is already the 21st in Paris.
    _add(db, datetime(2026, 11, 20, 23, 30, tzinfo=UTC), "ana@relais.test", audit.CASE_CLAIM, 1)
    _add(db, datetime(2026, 11, 22, 10, 0, tzinfo=UTC), "ana@relais.test", audit.CASE_CLOSE, 2)
    _add(db, datetime(2026, 11, 22, 11, 0, tzinfo=UTC), "bob@relais.test", audit.CASE_CLAIM, 3)
    _add(db, datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "ana@relais.test", audit.CASE_CLAIM, 4)

    def targets(query: str) -> list[int]:
        return _targets(text(signed_in.get(f"/queue/audit?{query}")))

    assert targets("actor=ANA") == [4, 2, 1]
    assert targets("action=case.claim") == [4, 3, 1]
    assert targets("actor=ana&action=case.claim&date_from=2026-11-21&date_to=2026-11-22") == [1]
    assert targets("date_from=2026-11-22&date_to=2026-11-22") == [3, 2]
    assert targets("actor=nobody") == []


def test_a_reversed_date_range_is_explained(signed_in: FlaskClient) -> None:
    response = signed_in.get("/queue/audit?date_from=2026-11-22&date_to=2026-11-21")
    assert response.status_code == 400
    assert "La date de fin est avant la date de début." in text(response)


def test_the_log_is_paginated_and_pages_keep_the_filters(
    signed_in: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    for minute in range(120):
        _add(db, frozen_clock.now() - timedelta(minutes=minute), "cli", audit.CONTACT_VIEW, minute)
    first = text(signed_in.get("/queue/audit?action=contact.view"))
    assert "120 entrées" in first
    assert "Page 1 sur 3" in first
    assert _targets(first) == list(range(50))
    assert 'href="/queue/audit?action=contact.view&amp;page=2"' in first
    last = text(signed_in.get("/queue/audit?action=contact.view&page=3"))
    assert "de 101 à 120" in last
    assert _targets(last) == list(range(100, 120))


def test_login_and_account_changes_appear_in_the_log(
    signed_in: FlaskClient, supervisor: Credentials
) -> None:
    page = text(signed_in.get("/queue/audit?action=login"))
    assert "Connexion" in page
    assert f"compte {supervisor.email}" in page
    assert "127.0.0.1" in page
