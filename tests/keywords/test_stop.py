"""Acceptance 3: STOP in each language opts out, and nothing more leaves until START."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import checkins, clock, keyword_texts
from bot.conversation import ConversationService
from bot.engine.text import for_language
from bot.i18n import LANGUAGES
from bot.reception import InboundMessage
from bot.runtime import shipped_runtime
from storage.db import Database
from storage.models import (
    CaseEvent,
    Channel,
    Checkin,
    CheckinEnrolment,
    Contact,
    Conversation,
    EnrolmentChange,
    Message,
)
from tests.conftest import FrozenClock
from tests.keywords.conftest import Person, PersonFactory, Phone, outbound
from tests.support.recording import RecordingAdapter

# One STOP and one START word per language, as people there would write them.
STOP_WORDS = {
    "fr": "ARRÊT",
    "en": "Unsubscribe",
    "ar": "توقف",
    "fa_AF": "توقف کن",
    "uk": "СТОП",
    "pt": "PARAR",
    "tr": "DUR",
}
START_WORDS = {
    "fr": "Démarrer",
    "en": "START",
    "ar": "ابدأ",
    "fa_AF": "شروع",
    "uk": "СТАРТ",
    "pt": "COMEÇAR",
    "tr": "BAŞLA",
}


def _translated(text: str, language: str) -> str:
    return shipped_runtime().catalogs.translator(language).gettext(text)


def _sent(text: str, language: str) -> str:
    """`text` as the person receives it."""
    return for_language(_translated(text, language), language)


def _contact(db: Database, who: Person) -> Contact:
    with db.read() as session:
        contact = session.get(Contact, who.contact_id)
        assert contact is not None
        return contact


def _enrolment(db: Database, who: Person) -> CheckinEnrolment:
    with db.read() as session:
        return session.scalars(
            select(CheckinEnrolment).where(CheckinEnrolment.contact_id == who.contact_id)
        ).one()


@pytest.mark.parametrize("language", LANGUAGES)
def test_stop_opts_out_and_nothing_more_is_sent_check_ins_included_until_start(
    language: str,
    db: Database,
    service: ConversationService,
    person: PersonFactory,
    phone: Phone,
    sender: Callable[[], None],
    adapter: RecordingAdapter,
    frozen_clock: FrozenClock,
) -> None:
    lou = person(language, enrolled=True)

    phone(lou, STOP_WORDS[language])
    sender()

    assert _contact(db, lou).opted_out_at is not None
    assert _enrolment(db, lou).status == "stopped"
    # Confirmed once, in the person's language.
    assert len(adapter.to(lou.address)) == 1
    assert adapter.to(lou.address) == [_sent(keyword_texts.STOPPED, language)]

    # Whatever they write, and whatever the week brings: silence.
    phone(lou, "Bonjour ?")
    phone(lou, STOP_WORDS[language])
    phone(lou, "AIDE")
    for _ in range(3):
        frozen_clock.advance(timedelta(days=7))
        checkins.tick(service, clock.now())
        sender()
    assert len(adapter.to(lou.address)) == 1
    with db.read() as session:
        assert session.scalars(select(Checkin)).all() == []
        inbound = session.scalars(
            select(Message).where(Message.contact_id == lou.contact_id, Message.direction == "in")
        ).all()
    assert len(inbound) == 4  # every message is kept

    phone(lou, START_WORDS[language])
    sender()
    assert _contact(db, lou).opted_out_at is None
    assert len(adapter.to(lou.address)) == 2
    assert adapter.to(lou.address)[1] == _sent(keyword_texts.STARTED_WITH_CHECKINS, language)
    # START gives back what STOP took: the weekly check-in, from its next slot on.
    enrolment = _enrolment(db, lou)
    assert enrolment.status == "active"
    assert enrolment.next_due_at is not None
    frozen_clock.move_to(enrolment.next_due_at + timedelta(minutes=1))
    checkins.tick(service, clock.now())
    sender()
    assert len(adapter.to(lou.address)) == 3  # the check-in's question


def test_a_sentence_about_stopping_is_not_stop_but_goes_to_the_flow(
    db: Database, service: ConversationService, phone: Phone, person: PersonFactory
) -> None:
    lou = person("fr")

    handled = phone(lou, "je voudrais arrêter de fumer")

    assert _contact(db, lou).opted_out_at is None
    assert handled.replies
    assert all(reply.kind != "opt_out" for reply in handled.replies)
    with db.read() as session:
        message = session.get(Message, handled.message_id)
        assert message is not None
        assert message.conversation_id is not None  # read by a flow


def test_mid_first_contact_a_sentence_about_stopping_is_an_answer_not_stop(
    db: Database, service: ConversationService
) -> None:
    def say(text: str) -> list[str]:
        handled = service.handle(InboundMessage(Channel.SMS, "+33639980199", text, clock.now()))
        return [reply.text or "" for reply in handled.replies]

    say("Bonjour")
    say("1")  # Français: about us, then the consent question
    replies = say("je voudrais arrêter de fumer")

    # The consent question asked again: the flow read it, nothing was stopped.
    assert replies
    assert any("OUI" in reply for reply in replies)
    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
        run = session.scalars(select(Conversation).where(Conversation.status == "active")).one()
    assert contact.opted_out_at is None
    assert run.flow == "first_contact"


def _inbound_texts(db: Database) -> list[str | None]:
    with db.read() as session:
        query = select(Message.text).where(Message.direction == "in").order_by(Message.id)
        return list(session.scalars(query))


def test_stop_before_consent_forgets_what_first_contact_had_heard(
    db: Database, service: ConversationService
) -> None:
    def say(text: str) -> None:
        service.handle(InboundMessage(Channel.SMS, "+33639980198", text, clock.now()))

    say("Bonjour, j'ai eu votre numéro par une amie")
    say("1")  # Français: about us, then the consent question
    say("STOP")  # rather than yes or no

    # As when first contact ends without a yes: what they said is not kept.
    assert _inbound_texts(db)[:2] == [None, None]
    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
        run = session.scalars(select(Conversation)).one()
    assert contact.opted_out_at is not None
    assert (run.status, run.state) == ("interrupted", {})
    assert contact.fields == {}


def test_stop_after_consent_keeps_what_was_said(db: Database, service: ConversationService) -> None:
    for text in ("Bonjour", "1", "oui", "STOP"):
        service.handle(InboundMessage(Channel.SMS, "+33639980197", text, clock.now()))
    assert _inbound_texts(db)[:3] == ["Bonjour", "1", "oui"]


def test_stop_ends_the_waiting_run_and_drops_what_is_still_queued(
    db: Database, service: ConversationService, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    phone(lou, "Bonjour")  # the inbox flow answers; its reply waits in the outbox
    service.start(Channel.SMS, lou.address, "weekly_checkin", clock.now())
    phone(lou, "STOP")

    with db.read() as session:
        runs = session.scalars(
            select(Conversation).where(Conversation.contact_id == lou.contact_id)
        ).all()
        queued = [m for m in outbound(db, lou) if m.status == "queued"]
    assert all(run.status != "active" for run in runs)
    assert [m.kind for m in queued] == ["opt_out"]


def test_a_second_stop_is_not_confirmed_again(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    phone(lou, "STOP")
    phone(lou, "stop !")
    assert [m.kind for m in outbound(db, lou)] == ["opt_out"]


def test_stop_records_the_change_and_tells_the_worker_on_an_open_case(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr", enrolled=True)
    phone(lou, "HUMAIN")
    phone(lou, "STOP")
    with db.read() as session:
        change = session.scalars(select(EnrolmentChange)).one()
        events = session.scalars(select(CaseEvent.kind)).all()
    assert (change.change, change.detail) == ("stopped", {"by": "person", "was": "active"})
    assert "opted_out" in events


def test_start_after_a_paused_check_in_leaves_it_paused(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr", enrolled=True)
    phone(lou, "PAUSE")
    phone(lou, "STOP")
    phone(lou, "START")
    assert _contact(db, lou).opted_out_at is None
    assert _enrolment(db, lou).status == "stopped"
    assert outbound(db, lou)[-1].text == _sent(keyword_texts.STARTED, "fr")
    # RESUME brings the weekly message back: the person paused it, the person resumes it.
    phone(lou, "REPRENDRE")
    assert _enrolment(db, lou).status == "active"
    assert outbound(db, lou)[-1].text == _sent(keyword_texts.RESUMED, "fr")


def test_resume_while_opted_out_opts_in_and_resumes(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr", enrolled=True)
    phone(lou, "PAUSE")
    phone(lou, "STOP")
    phone(lou, "REPRENDRE")
    assert _contact(db, lou).opted_out_at is None
    assert _enrolment(db, lou).status == "active"
    assert outbound(db, lou)[-1].text == _sent(keyword_texts.STARTED_WITH_CHECKINS, "fr")


def test_start_from_someone_who_never_stopped_says_so_and_asks_again(
    db: Database, service: ConversationService, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    service.start(Channel.SMS, lou.address, "weekly_checkin", clock.now())
    before = len(outbound(db, lou))
    phone(lou, "START")
    texts = [m.text for m in outbound(db, lou)[before:]]
    assert texts[0] == _sent(keyword_texts.ALREADY_STARTED, "fr")
    assert len(texts) == 2  # and the check-in question again


def test_start_as_a_new_persons_first_message_starts_their_first_contact(
    db: Database, service: ConversationService
) -> None:
    handled = service.handle(InboundMessage(Channel.SMS, "+33639980177", "START", clock.now()))
    assert handled.replies
    with db.read() as session:
        run = session.scalars(select(Conversation)).one()
    assert run.flow == "first_contact"
