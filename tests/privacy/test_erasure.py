"""Erasure: personal data and message texts go, anonymous counts and an audit line stay."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import ColumnElement, func, select

from bot import clock, privacy
from bot.channels.base import Outbound, RateLimit, Sent
from bot.cli import main
from bot.conversation import ConversationService
from bot.dispatch import Dispatcher
from bot.extensions import relais
from bot.reception import InboundMessage
from storage.db import Database
from storage.models import (
    AuditEntry,
    Case,
    CaseStatus,
    Channel,
    Checkin,
    Contact,
    ContactAddress,
    Conversation,
    Message,
    MessageStatus,
    OutboxItem,
)

from .conftest import CHECKIN_WORDS, NOTE, PERSON, Person, person_with_history, raw_dump, say

ERASE = "contact.erase"


def _what_they_wrote(database: Database, person: Person) -> list[str]:
    """Every text of the person's messages, in and out, that could be recognised."""
    with database.read() as session:
        texts = session.scalars(select(Message.text).where(Message.contact_id == person.contact_id))
        return [t for t in texts if t is not None and len(t) >= 5]


def _erase(database: Database, contact_id: int) -> privacy.Erasure:
    with database.write() as session:
        return privacy.erase_contact(session, contact_id, actor="test", now=clock.now())


def _count(database: Database, model: type, *where: ColumnElement[bool]) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_after_erasure_no_text_of_the_persons_messages_is_found_anywhere(app: Flask) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)
    texts = [*_what_they_wrote(database, person), NOTE, CHECKIN_WORDS, "Nadia", PERSON]
    with database.write() as session:
        export = privacy.dumps(
            privacy.export_contact(session, person.contact_id, actor="test", now=clock.now())
        )
    before = raw_dump(database)
    # The control: before erasure, everything is both in the database and in the export.
    assert len(texts) > 10
    for words in texts:
        assert words in before
        assert json.dumps(words, ensure_ascii=False) in export

    _erase(database, person.contact_id)

    after = raw_dump(database)
    assert [words for words in texts if words in after] == []


def test_erasure_keeps_anonymous_counts_and_marks_the_contact_erased(app: Flask) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)
    messages = _count(database, Message, Message.contact_id == person.contact_id)

    erased = _erase(database, person.contact_id)

    assert erased.messages == messages
    assert erased.cases == 1
    assert _count(database, Message, Message.contact_id == person.contact_id) == messages
    assert _count(database, Checkin) == 1
    with database.read() as session:
        contact = session.get(Contact, person.contact_id)
        assert contact is not None
        assert contact.erased_at == clock.now()
        assert contact.fields == {}
        assert contact.display_name is None
        assert contact.addresses == []
        case = session.get(Case, person.case_id)
        assert case is not None
        assert (case.status, case.outcome, case.summary) == (CaseStatus.CLOSED, "erased", None)
        assert all(event.body is None for event in case.events)
        assert all(run.state == {} for run in session.scalars(select(Conversation)))


def test_the_audit_log_records_that_an_erasure_happened_not_what_was_erased(app: Flask) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)

    _erase(database, person.contact_id)

    with database.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contact.erase")
        ).one()
    assert (entry.actor, entry.target_type, entry.target_id) == (
        "test",
        "contact",
        person.contact_id,
    )
    assert entry.detail == {"reason": "request"}


def test_a_new_message_from_an_erased_number_starts_a_fresh_file(
    app: Flask, service: ConversationService
) -> None:
    database = relais(app).database
    person = person_with_history(service)
    _erase(database, person.contact_id)

    say(service, "Bonjour")

    with database.read() as session:
        address = session.scalars(select(ContactAddress)).one()
        assert address.contact_id != person.contact_id
        fresh = session.get(Contact, address.contact_id)
        assert fresh is not None
        assert fresh.fields == {}


def test_nothing_queued_for_an_erased_person_is_sent(app: Flask) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)
    assert _count(database, OutboxItem) > 0

    _erase(database, person.contact_id)

    assert _count(database, OutboxItem) == 0
    assert _count(database, Message, Message.status == MessageStatus.QUEUED) == 0


def test_erasing_an_erased_contact_again_changes_nothing(app: Flask) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)
    _erase(database, person.contact_id)

    again = _erase(database, person.contact_id)

    assert again.already_erased
    assert _count(database, AuditEntry, AuditEntry.action == "contact.erase") == 1


def test_relais_contacts_erase_asks_first_then_erases(app: Flask, runner: CliRunner) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)

    refused = runner.invoke(main, ["contacts", "erase", str(person.contact_id)], input="n\n")
    assert refused.exit_code == 1
    assert _count(database, Contact, Contact.erased_at.is_not(None)) == 0

    result = runner.invoke(main, ["contacts", "erase", str(person.contact_id), "--yes"])

    assert result.exit_code == 0, result.output
    assert f"Erased contact {person.contact_id}" in result.output
    assert _count(database, Contact, Contact.erased_at.is_not(None)) == 1
    with database.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contact.erase")
        ).one()
    assert entry.actor == "cli"


def test_relais_contacts_erase_of_an_unknown_id_fails_plainly(runner: CliRunner) -> None:
    result = runner.invoke(main, ["contacts", "erase", "999", "--yes"])
    assert result.exit_code == 1
    assert "no contact 999" in result.output


class _TelegramLike:
    """Sends as the Telegram adapter records it: "<chat id>:<message id>"."""

    channels: tuple[Channel, ...] = (Channel.TELEGRAM,)
    longest_send = 0.0

    def __init__(self) -> None:
        self.count = 0

    def rate_limit(self, channel: Channel) -> RateLimit:
        return RateLimit(per_second=1000.0)

    def send(self, outbound: Outbound) -> Sent:
        self.count += 1
        return Sent(provider_id=f"{outbound.address}:{self.count}")

    def close(self) -> None:
        pass


def test_after_erasure_no_identifier_of_the_person_is_left(app: Flask) -> None:
    # A private chat's id is the person: Telegram ids of their messages and the update ids
    # of what they sent lead back to them, and so do Twilio's message SIDs.
    database = relais(app).database
    service = relais(app).conversations
    chat = "5550142987"
    for n, words in enumerate(["Bonjour", "1", "oui"]):
        service.handle(
            InboundMessage(Channel.TELEGRAM, chat, words, clock.now(), provider_id=f"9{n}8877")
        )
    dispatcher = Dispatcher(database, [_TelegramLike()], worker_id="erasure")
    try:
        while dispatcher.run_once():
            pass
    finally:
        dispatcher.close()
    with database.read() as session:
        contact_id = session.scalars(select(ContactAddress.contact_id)).one()
        ids = [i for i in session.scalars(select(Message.provider_id)) if i is not None]
    identifiers = [chat, *ids]
    before = raw_dump(database)
    assert all(identifier in before for identifier in identifiers)  # the control
    assert any(identifier.startswith(f"{chat}:") for identifier in ids)

    _erase(database, contact_id)

    after = raw_dump(database)
    assert [identifier for identifier in identifiers if identifier in after] == []
