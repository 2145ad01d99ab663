"""Claim, release, reassign, reply, note and close: who may, what changes, what is traced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import cases, clock, texts
from bot.extensions import relais
from storage.db import Database
from storage.models import (
    AuditEntry,
    Case,
    CaseEvent,
    Channel,
    Contact,
    ContactAddress,
    Conversation,
    Message,
    OutboxItem,
)
from tests.cases.builders import Staff, open_case, person


def _close(
    app: Flask,
    session: Session,
    case_id: int,
    staff: Staff,
    outcome: str,
    *,
    follow_up_on: date | None = None,
) -> None:
    """Close the case now, handing the person back as the dashboard does."""
    cases.close(
        session,
        case_id,
        staff,
        clock.now(),
        outcome=outcome,
        follow_up_on=follow_up_on,
        hand_back=relais(app).conversations.say,
    )


def _case(db: Database, case_id: int) -> Case:
    with db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def _events(db: Database, case_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
        )


def _audit(db: Database) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_worker_claims_an_open_case(db: Database, case_id: int, wassim: Staff) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
    case = _case(db, case_id)
    assert (case.status, case.assignee_id) == ("claimed", wassim.id)
    assert _events(db, case_id) == ["opened", "claimed"]
    [entry] = _audit(db)[-1:]
    assert (entry.action, entry.actor, entry.target_type, entry.target_id) == (
        "case.claim",
        wassim.email,
        "case",
        case_id,
    )


def test_the_second_claim_is_told_who_holds_the_case(
    db: Database, case_id: int, wassim: Staff, lea: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
    with pytest.raises(cases.AlreadyHeld) as refused, db.write() as session:
        cases.claim(session, case_id, lea, clock.now())
    assert (refused.value.holder_id, refused.value.holder_name) == (wassim.id, "Wassim")
    assert _case(db, case_id).assignee_id == wassim.id


def test_claiming_twice_by_the_same_worker_changes_nothing(
    db: Database, case_id: int, wassim: Staff
) -> None:
    for _ in range(2):
        with db.write() as session:
            cases.claim(session, case_id, wassim, clock.now())
    assert _events(db, case_id) == ["opened", "claimed"]


def test_a_closed_case_cannot_be_claimed(
    app: Flask, db: Database, case_id: int, wassim: Staff, lea: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
        _close(app, session, case_id, wassim, "listened")
    with pytest.raises(cases.CaseClosed), db.write() as session:
        cases.claim(session, case_id, lea, clock.now())


def test_release_puts_the_case_back_unassigned(db: Database, case_id: int, wassim: Staff) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
    with db.write() as session:
        cases.release(session, case_id, wassim, clock.now())
    case = _case(db, case_id)
    assert (case.status, case.assignee_id, case.claimed_at) == ("open", None, None)
    assert _events(db, case_id)[-1] == "released"


def test_another_worker_cannot_release_reply_note_or_close(
    app: Flask, db: Database, case_id: int, wassim: Staff, lea: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
    attempts: list[Callable[[Session], object]] = [
        lambda s: cases.release(s, case_id, lea, clock.now()),
        lambda s: cases.reply(s, case_id, lea, "Bonjour", clock.now()),
        lambda s: cases.note(s, case_id, lea, "vu", clock.now()),
        lambda s: _close(app, s, case_id, lea, "other"),
    ]
    for attempt in attempts:
        with pytest.raises(cases.NotHolder), db.write() as session:
            attempt(session)
    assert _events(db, case_id) == ["opened", "claimed"]


def test_a_supervisor_may_act_on_a_case_someone_else_holds(
    db: Database, case_id: int, wassim: Staff, salome: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
        cases.note(session, case_id, salome, "Je reprends si besoin.", clock.now())
        cases.reply(session, case_id, salome, "Bonjour Mariam", clock.now())
    assert _events(db, case_id)[-2:] == ["note", "reply"]


def test_only_a_supervisor_reassigns(
    db: Database, case_id: int, wassim: Staff, lea: Staff, salome: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
    with pytest.raises(cases.NotHolder), db.write() as session:
        cases.reassign(session, case_id, wassim, lea.id, clock.now())
    with db.write() as session:
        cases.reassign(session, case_id, salome, lea.id, clock.now())
    case = _case(db, case_id)
    assert (case.status, case.assignee_id) == ("claimed", lea.id)
    entry = _audit(db)[-1]
    assert (entry.action, entry.detail) == (
        "case.reassign",
        {"contact_id": case.contact_id, "from": wassim.id, "to": lea.id},
    )


def test_a_reply_is_queued_on_the_address_the_person_last_used(db: Database, wassim: Staff) -> None:
    contact_id = person(db, channel=Channel.SMS, address="+33639980134")
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        # She wrote on Telegram more recently than by SMS: the reply goes to Telegram.
        contact.addresses.append(
            ContactAddress(
                channel=Channel.TELEGRAM,
                address="700100299",
                created_at=clock.now(),
                last_inbound_at=clock.now().replace(year=2099),
            )
        )
    case_id = open_case(db, contact_id)
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
        message = cases.reply(
            session, case_id, wassim, "  Bonjour, je vous appelle demain.  ", clock.now()
        )
        message_id = message.id
    with db.read() as session:
        stored = session.get(Message, message_id)
        assert stored is not None
        assert (stored.kind, stored.channel, stored.text, stored.author_id, stored.case_id) == (
            "reply",
            "telegram",
            "Bonjour, je vous appelle demain.",
            wassim.id,
            case_id,
        )
        assert session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))
    entry = _audit(db)[-1]
    assert entry.action == "case.reply"
    assert "Bonjour" not in str(entry.detail)


def test_a_reply_needs_the_case_to_be_claimed(db: Database, case_id: int, salome: Staff) -> None:
    with pytest.raises(cases.NotHeld), db.write() as session:
        cases.reply(session, case_id, salome, "Bonjour", clock.now())


def test_empty_or_overlong_texts_are_refused(db: Database, case_id: int, wassim: Staff) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
    for text in ["   ", "x" * (cases.MAX_REPLY_LENGTH + 1)]:
        with pytest.raises(cases.InvalidInput), db.write() as session:
            cases.reply(session, case_id, wassim, text, clock.now())


def test_nobody_writes_to_a_person_who_said_stop(
    db: Database, mariam: int, case_id: int, wassim: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
        contact = session.get(Contact, mariam)
        assert contact is not None
        contact.opted_out_at = clock.now()
    with pytest.raises(cases.Unreachable), db.write() as session:
        cases.reply(session, case_id, wassim, "Bonjour", clock.now())


def test_a_note_is_kept_on_the_case_but_not_in_the_audit_log(
    db: Database, case_id: int, wassim: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
        cases.note(session, case_id, wassim, "A rappeler après 18 h.", clock.now())
    with db.read() as session:
        note = session.scalar(select(CaseEvent).where(CaseEvent.kind == "note"))
        assert note is not None
        assert (note.body, note.actor_id) == ("A rappeler après 18 h.", wassim.id)
    entry = _audit(db)[-1]
    assert entry.action == "case.note"
    assert "18 h" not in str(entry.detail)


def test_closing_a_held_case_hands_the_person_back_in_their_language(
    app: Flask, db: Database, wassim: Staff
) -> None:
    contact_id = person(db, language="uk")
    case_id = open_case(db, contact_id)
    catalogs = relais(app).conversations.runtime.catalogs
    expected = catalogs.translator("uk").gettext(texts.CASE_CLOSED)
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
        _close(app, session, case_id, wassim, "mission_locale", follow_up_on=date(2026, 12, 7))
    case = _case(db, case_id)
    assert (case.status, case.outcome, case.follow_up_on) == (
        "closed",
        "mission_locale",
        date(2026, 12, 7),
    )
    with db.read() as session:
        [goodbye] = session.scalars(select(Message).where(Message.direction == "out")).all()
    assert goodbye.kind == "system"
    assert expected != texts.CASE_CLOSED
    assert goodbye.text == expected
    assert _audit(db)[-1].detail == {"contact_id": contact_id, "outcome": "mission_locale"}


def test_closing_an_unclaimed_case_sends_nothing(
    app: Flask, db: Database, case_id: int, salome: Staff
) -> None:
    with db.write() as session:
        _close(app, session, case_id, salome, "other")
    with db.read() as session:
        assert session.scalars(select(Message)).all() == []


def test_an_unknown_outcome_is_refused(
    app: Flask, db: Database, case_id: int, wassim: Staff
) -> None:
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
    with pytest.raises(cases.InvalidInput), db.write() as session:
        _close(app, session, case_id, wassim, "solved")


def test_closing_ends_the_question_the_flows_were_waiting_on(
    app: Flask, db: Database, wassim: Staff
) -> None:
    contact_id = person(db, language="fr")
    with db.write() as session:
        session.add(
            Conversation(
                contact_id=contact_id,
                flow="first_contact",
                status="active",
                state={},
                started_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    case_id = open_case(db, contact_id)
    with db.write() as session:
        cases.claim(session, case_id, wassim, clock.now())
        _close(app, session, case_id, wassim, "listened")
    with db.read() as session:
        run = session.scalars(select(Conversation)).one()
    assert (run.status, run.outcome) == ("interrupted", "worker_took_over")
