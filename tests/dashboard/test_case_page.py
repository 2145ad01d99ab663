"""The case page: an audited view of the file, replies, notes and closing by the holder."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from bot import clock
from storage.db import Database
from storage.models import AuditEntry, Case, CaseEvent, Channel, Contact, Conversation, Message
from tests.browser import Credentials
from tests.cases.builders import open_case, person
from tests.conftest import FrozenClock
from tests.dashboard.client import csrf_token, log_in, post_form, text


def _claim(client: FlaskClient, case_id: int) -> None:
    client.post(f"/queue/cases/{case_id}/claim", data={"csrf_token": csrf_token(client, "/queue/")})


def _audited(db: Database, action: str) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_opening_a_case_shows_the_full_number_and_is_audited(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    contact_id = person(db, channel=Channel.SMS, address="+33639980134")
    case_id = open_case(db, contact_id)
    log_in(client, worker.email, worker.password)
    page = text(client.get(f"/queue/cases/{case_id}"))
    assert "+33 6 39 98 01 34" in page
    [view] = _audited(db, "contact.view")
    assert (view.actor, view.target_type, view.target_id) == (worker.email, "contact", contact_id)


def test_the_card_shows_what_the_intake_collected_in_readable_words(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    contact_id = person(
        db, fields={"age_bracket": "age_60_plus", "situation": "isolated", "wants_checkins": True}
    )
    with db.write() as session:
        session.add(
            Conversation(
                contact_id=contact_id,
                flow="first_contact",
                status="completed",
                state={"results": {"tonight": "family_friends", "place": "93200"}},
                started_at=clock.now(),
                updated_at=clock.now(),
                ended_at=clock.now(),
            )
        )
    case_id = open_case(db, contact_id)
    log_in(client, worker.email, worker.password)
    page = text(client.get(f"/queue/cases/{case_id}"))
    for shown in ("Tranche d’âge", "60 ans ou plus", "seul·e, isolé·e", "Souhaite un point"):
        assert shown in page
    assert "chez de la famille ou des amis" in page
    assert "93200" in page


def test_the_holder_replies_notes_and_closes(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    contact_id = person(db, channel=Channel.SMS, address="+33639980134")
    case_id = open_case(db, contact_id)
    log_in(client, worker.email, worker.password)
    _claim(client, case_id)
    page = f"/queue/cases/{case_id}"
    replied = post_form(
        client, f"{page}/reply", {"text": "Bonjour, je vous appelle à 14 h."}, page=page
    )
    assert replied.status_code == 303
    # The count the worker saw live is confirmed on sending.
    assert "1 SMS (GSM-7" in text(client.get(page))
    post_form(client, f"{page}/note", {"body": "Rappel prévu."}, page=page)
    closed = post_form(
        client,
        f"{page}/close",
        {"outcome": "france_travail", "follow_up_on": "2026-12-07"},
        page=page,
    )
    assert closed.status_code == 303
    with db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert (case.status, case.outcome, str(case.follow_up_on)) == (
            "closed",
            "france_travail",
            "2026-12-07",
        )
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
        outbound = session.scalars(
            select(Message.kind).where(Message.direction == "out").order_by(Message.id)
        ).all()
    assert list(kinds) == ["opened", "claimed", "reply", "note", "closed"]
    assert list(outbound) == ["reply", "system"]
    for action in ("case.claim", "case.reply", "case.note", "case.close"):
        assert len(_audited(db, action)) == 1


def test_a_worker_who_does_not_hold_the_case_cannot_write_on_it(
    app: object, client: FlaskClient, db: Database, worker: Credentials, supervisor: Credentials
) -> None:
    case_id = open_case(db, person(db))
    log_in(client, supervisor.email, supervisor.password)
    _claim(client, case_id)
    other = client.application.test_client()
    log_in(other, worker.email, worker.password)
    page = f"/queue/cases/{case_id}"
    html = text(other.get(page))
    assert "Envoyer la réponse" not in html
    assert "Salomé Sup" in html
    response = post_form(other, f"{page}/reply", {"text": "Bonjour"}, page=page)
    assert response.status_code == 303
    with db.read() as session:
        assert session.scalars(select(Message)).all() == []


def test_an_empty_reply_is_refused_with_a_message_by_the_field(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    case_id = open_case(db, person(db))
    log_in(client, worker.email, worker.password)
    _claim(client, case_id)
    page = f"/queue/cases/{case_id}"
    response = post_form(client, f"{page}/reply", {"text": "   "}, page=page)
    assert response.status_code == 400
    assert "Écrivez une réponse avant de l’envoyer." in text(response)


def test_a_whatsapp_reply_outside_24_hours_carries_a_warning(
    client: FlaskClient, db: Database, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    stale = person(
        db,
        channel=Channel.WHATSAPP,
        address="+33639980135",
        last_inbound_at=clock.now() - timedelta(hours=30),
    )
    fresh = person(
        db,
        channel=Channel.WHATSAPP,
        address="+33639980136",
        last_inbound_at=clock.now() - timedelta(hours=2),
    )
    log_in(client, worker.email, worker.password)
    pages = {}
    for contact_id in (stale, fresh):
        case_id = open_case(db, contact_id)
        _claim(client, case_id)
        pages[contact_id] = text(client.get(f"/queue/cases/{case_id}"))
    assert "plus de 24 heures" in pages[stale]
    assert "plus de 24 heures" not in pages[fresh]


def test_a_supervisor_reassigns_and_a_worker_cannot(
    client: FlaskClient, db: Database, worker: Credentials, supervisor: Credentials
) -> None:
    case_id = open_case(db, person(db))
    log_in(client, worker.email, worker.password)
    _claim(client, case_id)
    page = f"/queue/cases/{case_id}"
    refused = post_form(client, f"{page}/reassign", {"assignee": supervisor.id}, page=page)
    assert refused.status_code == 403
    boss = client.application.test_client()
    log_in(boss, supervisor.email, supervisor.password)
    post_form(boss, f"{page}/reassign", {"assignee": supervisor.id}, page=page)
    with db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.assignee_id == supervisor.id
    assert len(_audited(db, "case.reassign")) == 1


def test_new_messages_are_served_after_the_last_one_shown(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    contact_id = person(db)
    case_id = open_case(db, contact_id)
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        for n, words in enumerate(["Premier", "Second"]):
            session.add(
                Message(
                    contact_id=contact_id,
                    address_id=contact.addresses[0].id,
                    direction="in",
                    channel="telegram",
                    kind="text",
                    text=words,
                    status="handled",
                    created_at=clock.now() + timedelta(seconds=n),
                )
            )
    log_in(client, worker.email, worker.password)
    with db.read() as session:
        first_id = min(session.scalars(select(Message.id)))
    fragment = text(client.get(f"/queue/cases/{case_id}/messages?after={first_id}"))
    assert "Second" in fragment
    assert "Premier" not in fragment


def test_reading_the_messages_without_the_page_is_audited_once_a_day(
    client: FlaskClient, db: Database, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    # The live transcript's route hands out the person's messages too: whoever asks it
    # directly, without opening the case page, leaves a trace — one a day, not one a poll.
    contact_id = person(db)
    case_id = open_case(db, contact_id)
    log_in(client, worker.email, worker.password)
    for _ in range(3):
        assert client.get(f"/queue/cases/{case_id}/messages?after=0").status_code == 200
    views = _audited(db, "contact.view")
    assert [(v.actor, v.target_id, v.detail) for v in views] == [
        (worker.email, contact_id, {"page": "messages"})
    ]
    frozen_clock.advance(timedelta(days=1))
    log_in(client, worker.email, worker.password)  # the session ended overnight
    assert client.get(f"/queue/cases/{case_id}/messages?after=0").status_code == 200
    assert len(_audited(db, "contact.view")) == 2


def test_the_contact_page_is_audited_too(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    contact_id = person(db)
    open_case(db, contact_id)
    log_in(client, worker.email, worker.password)
    assert client.get(f"/queue/contacts/{contact_id}").status_code == 200
    assert client.get("/queue/contacts/999999").status_code == 404
    assert [e.detail for e in _audited(db, "contact.view")] == [{"page": "contact"}]


def test_a_message_the_scan_found_danger_in_is_highlighted_in_the_transcript(
    client: FlaskClient, db: Database, worker: Credentials
) -> None:
    contact_id = person(db)
    case_id = open_case(db, contact_id)
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        for n, (words, found) in enumerate(
            [("Bonjour", None), ("tout le monde sera mieux sans moi", "concern")]
        ):
            session.add(
                Message(
                    contact_id=contact_id,
                    address_id=contact.addresses[0].id,
                    direction="in",
                    channel="telegram",
                    kind="text",
                    text=words,
                    status="handled",
                    payload={"safety": {"category": found, "level": "concern"}} if found else None,
                    created_at=clock.now() + timedelta(seconds=n),
                )
            )
    log_in(client, worker.email, worker.password)
    page = client.get(f"/queue/cases/{case_id}").get_data(as_text=True)
    assert page.count('class="line in danger"') == 1
    assert "Danger repéré : signes d&#39;alerte, à évaluer" in page
