"""Races around stored but not yet processed messages (found in review, kept as tests)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from bot import clock
from bot.conversation import ConversationService
from bot.extensions import relais
from bot.inbox import Inbox
from bot.privacy import erase_contact
from bot.reception import Handled, InboundMessage
from storage.models import Case, Channel, Contact, Message


def _message(text: str, sid: str) -> InboundMessage:
    return InboundMessage(Channel.SMS, "+33639980888", text, clock.now(), provider_id=sid)


@pytest.fixture
def service(app: Flask) -> ConversationService:
    return relais(app).conversations


def test_refusing_consent_does_not_blank_a_message_still_waiting_for_the_safety_scan(
    service: ConversationService,
) -> None:
    for n, text in enumerate(["Bonjour", "1", "non"]):
        service.handle(_message(text, f"SM{n}"))
    refusal = service.receive(_message("non", "SM3"))  # no, not even a person
    danger = service.receive(_message("je veux mourir", "SM4"))
    assert refusal.message_id is not None
    assert danger.message_id is not None
    service.process(refusal.message_id)  # ends first contact: refused
    service.process(danger.message_id)
    with service.database.read() as session:
        cases = session.scalars(select(Case).where(Case.reason == "danger")).all()
        kept = session.get(Message, danger.message_id)
    assert len(cases) == 1
    assert kept is not None
    assert kept.text == "je veux mourir"  # attached to the case, so it stays


def test_erasing_someone_with_a_waiting_message_leaves_the_inbox_idle(
    service: ConversationService,
) -> None:
    first = service.handle(_message("Bonjour", "SM1"))
    waiting = service.receive(_message("encore", "SM2"))
    with service.database.write() as session:
        erase_contact(session, first.contact_id, actor="cli", now=clock.now())
    inbox = Inbox(service)
    try:
        assert [inbox.run_once() for _ in range(3)] == [0, 0, 0]
    finally:
        inbox.close()
    with service.database.read() as session:
        message = session.get(Message, waiting.message_id)
    assert message is not None
    assert (message.status, message.text) == ("handled", None)


def _first_arrives_meanwhile(service: ConversationService, before: str) -> tuple[Handled, Handled]:
    """Message B is stored; just before B's statement containing `before` runs, message A
    (from the same new person) is stored and committed in another thread. (A, B)."""
    results: dict[str, Handled] = {}
    fired = threading.Event()

    def store_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if before in statement and not fired.is_set():
            fired.set()
            thread = threading.Thread(
                target=lambda: results.setdefault("a", service.receive(_message("premier", "SMA")))
            )
            thread.start()
            thread.join()

    event.listen(service.database.engine, "before_cursor_execute", store_first)
    try:
        second = service.receive(_message("second", "SMB"))
    finally:
        event.remove(service.database.engine, "before_cursor_execute", store_first)
    assert fired.is_set()
    return results["a"], second


@pytest.mark.postgres_only
def test_a_new_senders_second_message_is_not_taken_for_a_retry(
    service: ConversationService,
) -> None:
    # Message B found no address; message A (the very first) commits right then.
    _, second = _first_arrives_meanwhile(service, "SELECT contact_addresses.id")
    assert not second.duplicate
    with service.database.read() as session:
        texts = session.scalars(select(Message.text).order_by(Message.id)).all()
    assert sorted(t or "" for t in texts) == ["premier", "second"]


@pytest.mark.postgres_only
def test_two_first_messages_adding_the_person_at_once_make_one_person(
    service: ConversationService,
) -> None:
    # Message B has added its person and is about to add the address; message A, from
    # the same phone, adds both and commits right then.
    first, second = _first_arrives_meanwhile(service, "INSERT INTO contact_addresses")
    assert not first.duplicate
    assert not second.duplicate
    assert first.contact_id == second.contact_id
    with service.database.read() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1
        owners = session.scalars(select(Message.contact_id)).all()
    assert owners == [first.contact_id, first.contact_id]
