"""The conversation service: one message in, one transaction, replies in the outbox."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import clock
from bot.conversation import ConversationService
from bot.extensions import relais
from bot.inbox import Inbox
from bot.reception import InboundMessage
from bot.timeouts import expire_due_waits
from storage.db import Database
from storage.models import (
    Case,
    Channel,
    Contact,
    ContactAddress,
    Conversation,
    Direction,
    Message,
    OutboxItem,
)

from .conftest import FrozenClock

PERSON = "+33639980101"


@pytest.fixture
def service(app: Flask) -> ConversationService:
    return relais(app).conversations


def _text(text: str, provider_id: str | None = None, **extra: object) -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        address=PERSON,
        text=text,
        received_at=clock.now(),
        provider_id=provider_id,
        **extra,  # type: ignore[arg-type]
    )


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_first_message_creates_the_person_and_starts_first_contact(
    service: ConversationService, db: Database
) -> None:
    handled = service.handle(_text("Bonjour", "SM1"))
    assert not handled.duplicate
    assert handled.replies
    # The language menu, in the default language (French), queued in the outbox.
    assert handled.replies[0].text is not None
    assert handled.replies[0].text.startswith("Bonjour")
    assert "Français" in (handled.replies[0].payload or {})["choices"]
    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
        run = session.scalars(select(Conversation)).one()
    assert contact.last_seen_at is not None
    assert (run.flow, run.status) == ("first_contact", "active")
    assert _count(db, OutboxItem) == len(handled.replies)


def test_a_provider_id_seen_before_changes_nothing(
    service: ConversationService, db: Database
) -> None:
    first = service.handle(_text("Bonjour", "SM1"))
    again = service.handle(_text("Bonjour", "SM1"))
    assert again.duplicate
    assert again.replies == []
    assert _count(db, Message, Message.direction == Direction.IN) == 1
    assert _count(db, OutboxItem) == len(first.replies)


def test_the_channel_language_hint_picks_the_first_language(service: ConversationService) -> None:
    handled = service.handle(_text("hi", "SM1", language_hint="uk-UA"))
    assert handled.replies[0].text is not None
    assert "Relais" in handled.replies[0].text
    assert handled.replies[0].text != service.handle(_text("x", "SM2")).replies[0].text


def test_two_messages_sent_at_once_are_handled_one_after_the_other(
    service: ConversationService, db: Database
) -> None:
    service.handle(_text("Bonjour", "SM1"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def send(text: str, sid: str) -> None:
        barrier.wait()
        try:
            service.handle(_text(text, sid))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [
        threading.Thread(target=send, args=("1", "SM2")),
        threading.Thread(target=send, args=("oui", "SM3")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with db.read() as session:
        runs = session.scalars(select(Conversation)).all()
        contacts = session.scalar(select(func.count()).select_from(Contact))
    # Still one person with one run: both answers went through the same conversation.
    assert contacts == 1
    assert len(runs) == 1
    assert runs[0].state["results"].get("language") == "fr"


def test_the_first_messages_of_a_new_person_at_once_create_one_contact(
    service: ConversationService, db: Database
) -> None:
    barrier = threading.Barrier(3)

    def send(sid: str) -> None:
        barrier.wait()
        service.handle(_text("Bonjour", sid))

    threads = [threading.Thread(target=send, args=(f"SM{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert _count(db, Contact) == 1
    assert _count(db, Message, Message.direction == Direction.IN) == 3


def test_writing_after_first_contact_reaches_the_team(
    service: ConversationService, db: Database
) -> None:
    with db.write() as session:
        contact = Contact(created_at=clock.now(), fields={}, language="fr")
        contact.addresses.append(
            ContactAddress(channel=Channel.SMS, address=PERSON, created_at=clock.now())
        )
        session.add(contact)
        session.flush()
        session.add(
            Conversation(
                contact_id=contact.id,
                flow="first_contact",
                status="completed",
                state={},
                started_at=clock.now(),
                updated_at=clock.now(),
            )
        )
    first = service.handle(_text("Merci pour hier", "SM1"))
    second = service.handle(_text("Vous pouvez m'appeler ?", "SM2"))
    assert first.replies[0].text is not None
    assert first.replies[0].text.startswith("Merci, votre message est bien arrivé")
    assert second.replies
    # Two messages, one case for the team, and no new first contact.
    assert _count(db, Case, Case.reason == "message_received") == 1
    assert _count(db, Contact) == 1
    assert _count(db, Conversation, Conversation.flow == "first_contact") == 1


def test_timeouts_send_one_reminder_then_end_the_week_as_missed(
    service: ConversationService, db: Database, frozen_clock: FrozenClock
) -> None:
    started = service.start(Channel.SMS, PERSON, "weekly_checkin", clock.now(), language="fr")
    assert len(started.replies) == 1
    assert expire_due_waits(service, clock.now()) == 0

    frozen_clock.advance(timedelta(hours=25))
    assert expire_due_waits(service, clock.now()) == 1
    # Nothing more is due until 72 hours.
    assert expire_due_waits(service, clock.now()) == 0
    frozen_clock.advance(timedelta(hours=48))
    assert expire_due_waits(service, clock.now()) == 1
    with db.read() as session:
        run = session.scalars(select(Conversation)).one()
        sent = session.scalars(select(Message).where(Message.direction == Direction.OUT)).all()
    assert (run.status, run.outcome) == ("completed", "missed")
    assert len(sent) == 2  # the question and one reminder


def test_an_answer_waiting_for_the_inbox_is_not_overtaken_by_a_timeout(
    service: ConversationService,
    db: Database,
    frozen_clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service.start(Channel.SMS, PERSON, "weekly_checkin", clock.now(), language="fr")
    frozen_clock.advance(timedelta(hours=20))
    # The person answers; the worker is down (or behind), so it is only stored.
    answer = service.receive(_text("3", "SM1"))
    assert answer.message_id is not None
    frozen_clock.advance(timedelta(hours=60))  # past the reminder and the week's end

    assert expire_due_waits(service, clock.now()) == 1  # looked at, and left alone
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    with db.read() as session:
        run = session.scalars(select(Conversation)).one()
        sent = session.scalars(select(Message).where(Message.direction == Direction.OUT)).all()
    assert run.status == "active"  # not "missed"
    assert len(sent) == 1  # the question only: no reminder

    handled = service.process(answer.message_id)  # the inbox catches up: the answer counts
    assert len(handled.replies) == 1  # the next question, not the menu again
    with db.read() as session:
        run = session.scalars(select(Conversation)).one()
    assert run.status == "active"
    assert run.state["results"] == {"loneliness": "occasionally"}


def test_while_a_worker_holds_a_case_messages_go_to_the_case_not_the_flows(
    service: ConversationService, db: Database
) -> None:
    service.handle(_text("Bonjour", "SM1"))
    with db.write() as session:
        contact = session.scalars(select(Contact)).one()
        session.add(
            Case(
                contact_id=contact.id,
                reason="asked_for_person",
                status="claimed",
                opened_at=clock.now(),
                claimed_at=clock.now(),
            )
        )
    waiting_before = _count(db, OutboxItem)
    handled = service.handle(_text("Je voudrais parler à quelqu'un", "SM2"))
    assert handled.replies == []
    assert len(handled.case_ids) == 1
    assert _count(db, OutboxItem) == waiting_before
    with db.read() as session:
        case = session.scalars(select(Case)).one()
        inbound = session.scalars(select(Message).where(Message.provider_id == "SM2")).one()
        assert [event.kind for event in case.events] == ["inbound"]
    assert inbound.case_id == case.id


def _waiting_state(db: Database) -> dict[str, Any]:
    with db.read() as session:
        run = session.scalars(select(Conversation).where(Conversation.status == "active")).one()
        return dict(run.state)


def test_a_sticker_mid_flow_gets_a_polite_answer_and_the_question_waits(
    service: ConversationService, db: Database
) -> None:
    service.handle(_text("Bonjour", "SM1"))
    before = _waiting_state(db)
    handled = service.handle(_text("[sticker]", "SM2", kind="sticker"))
    assert [reply.text for reply in handled.replies] == [
        "Désolé, je ne peux lire que les messages écrits. Merci de répondre avec des mots."
    ]
    assert _waiting_state(db) == before


def test_an_edited_message_is_not_taken_as_an_answer(service: ConversationService) -> None:
    service.handle(_text("Bonjour", "SM1"))
    handled = service.handle(_text("[edited] 2", "SM2", kind="edited"))
    assert handled.replies[0].text is not None
    assert handled.replies[0].text.startswith("Je ne peux pas lire les messages modifiés")


def test_start_mid_flow_asks_the_question_again_without_using_a_retry(
    service: ConversationService, db: Database
) -> None:
    first = service.handle(_text("Bonjour", "SM1"))
    before = _waiting_state(db)
    again = service.handle(_text("", "SM2", kind="start"))
    assert [reply.text for reply in again.replies] == [first.replies[0].text]
    assert _waiting_state(db)["invalid"] == before["invalid"] == 0


def test_start_after_first_contact_says_hello_and_opens_no_case(
    service: ConversationService, db: Database
) -> None:
    service.start(Channel.SMS, PERSON, "first_contact", clock.now())
    with db.write() as session:
        run = session.scalars(select(Conversation)).one()
        run.status = "completed"
    handled = service.handle(_text("", "SM9", kind="start"))
    assert handled.replies[0].text is not None
    assert handled.replies[0].text.startswith("Re-bonjour")
    assert _count(db, Case) == 0


def test_a_new_person_sending_a_photo_is_greeted_with_first_contact(
    service: ConversationService,
) -> None:
    handled = service.handle(_text("[photo]", "SM1", kind="photo"))
    assert handled.replies[0].payload is not None
    assert "Français" in handled.replies[0].payload["choices"]


def test_a_webhook_only_stores_and_the_inbox_processes_in_order(
    service: ConversationService, db: Database
) -> None:
    service.receive(_text("Bonjour", "SM1"))
    service.receive(_text("1", "SM2"))  # the answer to the language menu
    assert _count(db, OutboxItem) == 0
    inbox = Inbox(service)
    try:
        # One message per person per pass: the second waits for the first.
        assert inbox.run_once() == 1
        assert inbox.run_once() == 1
        assert inbox.run_once() == 0
    finally:
        inbox.close()
    with db.read() as session:
        statuses = session.scalars(select(Message.status).where(Message.direction == "in")).all()
        run = session.scalars(select(Conversation)).one()
    assert statuses == ["handled", "handled"]
    assert run.state["results"].get("language") == "fr"


def test_a_message_whose_processing_failed_is_kept_and_processed_later(
    service: ConversationService, db: Database
) -> None:
    def broken(
        session: Session, contact: Contact, address: ContactAddress, message: Message
    ) -> bool:
        raise RuntimeError("a bug in a hook")

    service.hooks.append(broken)
    with pytest.raises(RuntimeError):
        service.handle(_text("Bonjour", "SM1"))
    service.hooks.remove(broken)
    with db.read() as session:
        stored = session.scalars(select(Message)).one()
    assert (stored.text, stored.status) == ("Bonjour", "received")

    inbox = Inbox(service)
    try:
        assert inbox.run_once() == 1
    finally:
        inbox.close()
    with db.read() as session:
        assert session.scalars(select(Message.status).where(Message.id == stored.id)).one() == (
            "handled"
        )
    assert _count(db, OutboxItem) > 0


def test_a_message_that_keeps_failing_goes_to_a_worker(
    service: ConversationService, db: Database
) -> None:
    def broken(
        session: Session, contact: Contact, address: ContactAddress, message: Message
    ) -> bool:
        raise RuntimeError("a bug in a hook")

    service.hooks.append(broken)
    service.receive(_text("Bonjour", "SM1"))
    service.receive(_text("Allô ?", "SM2"))
    inbox = Inbox(service, retry_after=0.0)
    try:
        for _ in range(3):
            inbox.run_once()
    finally:
        inbox.close()
    with db.read() as session:
        case = session.scalars(select(Case)).one()
        first = session.scalars(select(Message).where(Message.provider_id == "SM1")).one()
        second = session.scalars(select(Message).where(Message.provider_id == "SM2")).one()
    assert (case.reason, case.priority) == ("unprocessed_message", "high")
    assert (first.status, first.case_id) == ("failed", case.id)
    # The person's next message is no longer held up behind it.
    assert second.status == "received"


def test_no_reminder_reaches_someone_a_worker_is_talking_to(
    service: ConversationService, db: Database, frozen_clock: FrozenClock
) -> None:
    service.start(Channel.SMS, PERSON, "weekly_checkin", clock.now(), language="fr")
    with db.write() as session:
        contact = session.scalars(select(Contact)).one()
        session.add(
            Case(
                contact_id=contact.id,
                reason="asked_for_person",
                status="claimed",
                opened_at=clock.now(),
                claimed_at=clock.now(),
            )
        )
    frozen_clock.advance(timedelta(hours=25))
    assert expire_due_waits(service, clock.now()) == 1
    with db.read() as session:
        sent = session.scalars(select(Message).where(Message.direction == Direction.OUT)).all()
        run = session.scalars(select(Conversation)).one()
    assert len(sent) == 1  # the question only, no reminder
    assert run.status == "active"
    assert run.wait_until is not None
    assert run.wait_until > clock.now()


def test_the_engine_sees_the_persons_timezone_or_the_associations(
    service: ConversationService,
) -> None:
    # ask_date reads "aujourd'hui" on this clock (tests/engine/testdata/ask_date.yaml).
    assert service.settings.timezone == "Europe/Paris"
    assert service.contact_view(Contact(language="fr", fields={})).timezone == "Europe/Paris"
    elsewhere = Contact(language="fr", fields={}, timezone="America/Cayenne")
    assert service.contact_view(elsewhere).timezone == "America/Cayenne"
