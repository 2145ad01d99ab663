"""The queue page: order, labels, masked numbers, service levels, filters, claiming."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot import clock
from storage.db import Database
from storage.models import AuditEntry, Case, Channel, Priority
from tests.browser import Credentials
from tests.cases.builders import open_case, person
from tests.conftest import FrozenClock
from tests.dashboard.client import csrf_token, log_in, text


@pytest.fixture
def case_for_mariam(db: Database) -> int:
    """An open case: Mariam, on Telegram, asked to talk to someone."""
    return open_case(db, person(db))


def _positions(page: str, *needles: str) -> list[int]:
    return [page.index(needle) for needle in needles]


def test_the_queue_is_the_landing_page(client: FlaskClient, worker: Credentials) -> None:
    response = log_in(client, worker.email, worker.password)
    assert response.location == "/queue/"
    page = text(client.get("/queue/"))
    assert "<h1>File d’attente</h1>" in page


def test_urgent_cases_come_before_older_normal_ones(
    client: FlaskClient, db: Database, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    now = clock.now()
    older = open_case(
        db, person(db, name="Odile", address="1001"), opened_at=now - timedelta(hours=5)
    )
    oldest = open_case(
        db, person(db, name="Omar", address="1002"), opened_at=now - timedelta(hours=9)
    )
    urgent = open_case(
        db,
        person(db, name="Ulysse", address="1003"),
        priority=Priority.URGENT,
        reason="no_shelter",
        opened_at=now - timedelta(minutes=2),
    )
    log_in(client, worker.email, worker.password)
    page = text(client.get("/queue/cases"))
    first, second, third = _positions(
        page, f"/queue/cases/{urgent}", f"/queue/cases/{oldest}", f"/queue/cases/{older}"
    )
    assert first < second < third
    assert "Nulle part où dormir ce soir" in page


def test_phone_numbers_are_masked_in_the_list(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    open_case(db, person(db, channel=Channel.SMS, address="+33639980134"))
    log_in(client, worker.email, worker.password)
    page = text(client.get("/queue/cases"))
    assert "+33 6 •• •• •• 34" in page
    assert "39980134" not in page
    assert "39 98" not in page


def test_an_unclaimed_urgent_case_past_15_minutes_is_marked_overdue_in_words(
    client: FlaskClient, db: Database, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    open_case(
        db,
        person(db),
        priority=Priority.URGENT,
        reason="danger",
        category="violence",
        opened_at=clock.now() - timedelta(minutes=40),
    )
    log_in(client, worker.email, worker.password)
    page = text(client.get("/queue/cases"))
    assert "En retard de" in page
    assert "Danger (violence)" in page


def test_an_unknown_reason_is_shown_as_its_code(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    open_case(db, person(db), reason="brand_new_reason")
    log_in(client, worker.email, worker.password)
    assert "brand_new_reason" in text(client.get("/queue/cases"))


def test_the_filters_show_mine_unassigned_a_reason_or_a_language(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    french = open_case(db, person(db, address="2001", language="fr"), reason="no_news")
    arabic = open_case(db, person(db, address="2002", language="ar"), reason="often_lonely")
    log_in(client, worker.email, worker.password)
    client.post(f"/queue/cases/{arabic}/claim", data={"csrf_token": csrf_token(client, "/queue/")})

    def shown(query: str) -> set[int]:
        page = text(client.get(f"/queue/cases?{query}"))
        return {case for case in (french, arabic) if f'href="/queue/cases/{case}"' in page}

    assert shown("show=all") == {french, arabic}
    assert shown("show=mine") == {arabic}
    assert shown("show=unassigned") == {french}
    assert shown("reason=no_news") == {french}
    assert shown("language=ar") == {arabic}
    # A hand-made filter value shows everything rather than an error.
    assert shown("show=nonsense") == {french, arabic}
    # The list the page refreshes keeps the filters.
    table = text(client.get("/queue/cases/table?language=ar"))
    assert f"/queue/cases/{arabic}" in table
    assert f"/queue/cases/{french}" not in table


def test_languages_are_named_in_the_workers_language(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    open_case(db, person(db, language="uk"))
    log_in(client, worker.email, worker.password)
    assert "Ukrainien" in text(client.get("/queue/cases"))
    english = {"Accept-Language": "en"}
    client.post("/language", data={"language": "en", "csrf_token": csrf_token(client, "/queue/")})
    assert "Ukrainian" in text(client.get("/queue/cases", headers=english))


def test_a_claim_from_the_queue_is_audited_and_leads_to_the_case(
    client: FlaskClient, db: Database, worker: Credentials, case_for_mariam: int
) -> None:
    log_in(client, worker.email, worker.password)
    response = client.post(
        f"/queue/cases/{case_for_mariam}/claim",
        data={"csrf_token": csrf_token(client, "/queue/cases")},
    )
    assert response.status_code == 303
    assert response.location == f"/queue/cases/{case_for_mariam}"
    with db.read() as session:
        case = session.get(Case, case_for_mariam)
        assert case is not None
        assert case.assignee_id == worker.id
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "case.claim" in actions


def test_the_loser_of_a_claim_is_told_who_was_first(
    client: FlaskClient,
    db: Database,
    worker: Credentials,
    supervisor: Credentials,
    case_for_mariam: int,
) -> None:
    log_in(client, supervisor.email, supervisor.password)
    client.post(
        f"/queue/cases/{case_for_mariam}/claim", data={"csrf_token": csrf_token(client, "/queue/")}
    )
    other = client.application.test_client()
    log_in(other, worker.email, worker.password)
    response = other.post(
        f"/queue/cases/{case_for_mariam}/claim",
        data={"csrf_token": csrf_token(other, "/queue/")},
        follow_redirects=True,
    )
    assert "Salomé Sup a pris ce dossier en premier." in text(response)


def test_queue_forms_without_their_token_are_refused(
    client: FlaskClient, worker: Credentials, case_for_mariam: int
) -> None:
    log_in(client, worker.email, worker.password)
    for action in ("claim", "release", "reply", "note", "close"):
        response = client.post(f"/queue/cases/{case_for_mariam}/{action}", data={"text": "x"})
        assert response.status_code == 400, action
