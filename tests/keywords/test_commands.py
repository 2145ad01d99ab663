"""HELP, HUMAN, LANGUAGE, ERASE, PAUSE and RESUME, in every shipped language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock, keyword_texts
from bot.conversation import ConversationService
from bot.engine.text import for_language
from bot.i18n import LANGUAGES
from bot.keywords import PENDING_FIELD, Command, command_words
from bot.reception import InboundMessage
from bot.runtime import shipped_runtime
from storage.db import Database
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    CheckinEnrolment,
    Contact,
    Conversation,
    EnrolmentChange,
    Message,
)
from tests.conftest import FrozenClock
from tests.keywords.conftest import Person, PersonFactory, Phone, outbound


def _sent(text: str, language: str) -> str:
    translated = shipped_runtime().catalogs.translator(language).gettext(text)
    return for_language(translated, language)


def _word(command: Command, language: str) -> str:
    """The first word for `command` in `language`, written as people would: in capitals."""
    return command_words(command, language)[0].upper()


def _texts(db: Database, who: Person, since: int = 0) -> list[str]:
    return [m.text or "" for m in outbound(db, who)[since:]]


def _contact(db: Database, who: Person) -> Contact:
    with db.read() as session:
        contact = session.get(Contact, who.contact_id)
        assert contact is not None
        return contact


def _enrolment_status(db: Database, who: Person) -> str:
    with db.read() as session:
        return session.scalars(
            select(CheckinEnrolment.status).where(CheckinEnrolment.contact_id == who.contact_id)
        ).one()


def _start_checkin(service: ConversationService, who: Person) -> None:
    service.start(Channel.SMS, who.address, "weekly_checkin", clock.now())


# --------------------------------------------------------------------------- HELP


@pytest.mark.parametrize("language", LANGUAGES)
def test_help_says_who_we_are_and_the_emergency_numbers(
    language: str, db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person(language)
    phone(lou, _word(Command.HELP, language))
    (text,) = _texts(db, lou)
    assert text == _sent(keyword_texts.HELP, language)
    assert "112" in text
    assert "114" in text


def test_help_mid_run_asks_the_waiting_question_again(
    db: Database, service: ConversationService, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    _start_checkin(service, lou)
    question = _texts(db, lou)[-1]
    before = len(_texts(db, lou))
    phone(lou, "aide svp")
    assert _texts(db, lou, before) == [_sent(keyword_texts.HELP, "fr"), question]


# -------------------------------------------------------------------------- HUMAN


@pytest.mark.parametrize("language", LANGUAGES)
def test_asking_for_a_person_opens_a_case_and_says_someone_will_answer(
    language: str, db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person(language)
    handled = phone(lou, _word(Command.HUMAN, language))
    with db.read() as session:
        case = session.scalars(select(Case)).one()
        message = session.get(Message, handled.message_id)
        assert message is not None
    assert (case.reason, case.priority, case.status) == ("asked_for_person", "normal", "open")
    assert message.case_id == case.id  # the worker sees what was asked
    assert _texts(db, lou) == [_sent(keyword_texts.HUMAN_REQUESTED, language)]


def test_asking_twice_adds_to_the_same_case(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    phone(lou, "HUMAIN")
    phone(lou, "parler à quelqu'un")
    with db.read() as session:
        assert len(session.scalars(select(Case)).all()) == 1


def test_with_a_worker_holding_the_case_a_command_goes_to_the_case_too(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    phone(lou, "HUMAIN")
    with db.write() as session:
        case = session.scalars(select(Case)).one()
        case.status, case.claimed_at = CaseStatus.CLAIMED, clock.now()
    before = len(_texts(db, lou))
    handled = phone(lou, "HUMAIN")
    with db.read() as session:
        message = session.get(Message, handled.message_id)
        assert message is not None
        events = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert message.case_id == case.id
    assert "inbound" in events
    assert _texts(db, lou, before) == []  # the worker answers, not the assistant


# ----------------------------------------------------------------------- LANGUAGE


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_opens_the_menu_and_the_choice_is_kept(
    language: str, db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person(language)
    phone(lou, _word(Command.LANGUAGE, language))
    with db.read() as session:
        run = session.scalars(select(Conversation).where(Conversation.status == "active")).one()
    assert run.flow == "change_language"
    phone(lou, "7")  # Türkçe
    assert _contact(db, lou).language == "tr"


def test_language_mid_run_comes_back_to_the_question_in_the_new_language(
    db: Database, service: ConversationService, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    _start_checkin(service, lou)
    french_question = _texts(db, lou)[-1]
    phone(lou, "LANGUE")
    before = len(_texts(db, lou))
    phone(lou, "2")  # English
    after = _texts(db, lou, before)

    assert _contact(db, lou).language == "en"
    # The confirmation, then the same check-in question, now in English.
    assert len(after) == 2
    assert after[1] != french_question
    assert "lonely" in after[1]
    with db.read() as session:
        run = session.scalars(select(Conversation).where(Conversation.status == "active")).one()
    assert run.flow == "weekly_checkin"


# -------------------------------------------------------------------------- ERASE

YES = {
    "fr": "oui",
    "en": "yes",
    "ar": "نعم",
    "fa_AF": "بلی",
    "uk": "так",
    "pt": "sim",
    "tr": "evet",
}
NO = {"fr": "non", "en": "no", "ar": "لا", "fa_AF": "نه", "uk": "ні", "pt": "não", "tr": "hayır"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_erase_asks_first_and_yes_erases_everything(
    language: str, db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person(language)
    phone(lou, "Je m'appelle Lou et j'habite rue des Lilas")
    phone(lou, _word(Command.ERASE, language))
    assert _texts(db, lou)[-1] == _sent(keyword_texts.ERASE_CONFIRM, language)
    assert _contact(db, lou).erased_at is None

    phone(lou, YES[language])

    contact = _contact(db, lou)
    assert contact.erased_at is not None
    assert PENDING_FIELD not in contact.fields
    with db.read() as session:
        texts = session.scalars(select(Message.text).where(Message.text.is_not(None))).all()
    assert not any("Lilas" in (text or "") for text in texts)


@pytest.mark.parametrize("language", LANGUAGES)
def test_erase_then_no_keeps_everything(
    language: str, db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person(language)
    phone(lou, _word(Command.ERASE, language))
    phone(lou, NO[language])
    contact = _contact(db, lou)
    assert contact.erased_at is None
    assert PENDING_FIELD not in contact.fields
    assert _texts(db, lou)[-1] == _sent(keyword_texts.ERASE_KEPT, language)


def test_erase_then_something_else_is_not_an_answer_and_goes_to_the_flow(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    phone(lou, "OUBLI")
    handled = phone(lou, "en fait j'ai une question")
    assert _contact(db, lou).erased_at is None
    assert PENDING_FIELD not in _contact(db, lou).fields
    assert handled.replies  # the inbox flow acknowledged it


def test_a_yes_long_after_the_erase_question_erases_nothing(
    db: Database, person: PersonFactory, phone: Phone, frozen_clock: FrozenClock
) -> None:
    lou = person("fr")
    phone(lou, "OUBLI")
    frozen_clock.advance(timedelta(hours=2))
    phone(lou, "oui")
    assert _contact(db, lou).erased_at is None


def test_erasure_is_honoured_for_someone_who_opted_out(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    phone(lou, "STOP")
    phone(lou, "SUPPRIMER")
    question = outbound(db, lou)[-1]
    assert question.kind == "opt_out"  # delivered although they opted out: they asked
    phone(lou, "OUI")
    assert _contact(db, lou).erased_at is not None


def test_the_erase_command_needs_bot_privacy() -> None:
    # The keyword erases through bot.privacy.erase_contact; its absence must be loud.
    from bot import privacy

    assert callable(privacy.erase_contact)


# ------------------------------------------------------------------ PAUSE / RESUME


@pytest.mark.parametrize("language", LANGUAGES)
def test_pause_pauses_the_weekly_check_in_and_resume_brings_it_back(
    language: str, db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person(language, enrolled=True)
    phone(lou, _word(Command.PAUSE, language))
    assert _enrolment_status(db, lou) == "paused"
    assert _texts(db, lou)[-1] == _sent(keyword_texts.PAUSED, language)

    phone(lou, _word(Command.RESUME, language))
    assert _enrolment_status(db, lou) == "active"
    assert _texts(db, lou)[-1] == _sent(keyword_texts.RESUMED, language)
    with db.read() as session:
        changes = session.scalars(select(EnrolmentChange).order_by(EnrolmentChange.id)).all()
    assert [(c.change, (c.detail or {}).get("by")) for c in changes] == [
        ("paused", "person"),
        ("resumed", "person"),
    ]


def test_pause_during_a_check_in_ends_it_without_counting_it_missed(
    db: Database, service: ConversationService, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr", enrolled=True)
    _start_checkin(service, lou)
    phone(lou, "PAUSE")
    with db.read() as session:
        active = session.scalars(select(Conversation).where(Conversation.status == "active"))
        enrolment = session.scalars(select(CheckinEnrolment)).one()
    assert list(active) == []
    assert enrolment.consecutive_missed == 0


def test_pause_without_check_ins_says_there_are_none(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    phone(lou, "PAUSE")
    phone(lou, "REPRENDRE")
    assert _texts(db, lou) == [_sent(keyword_texts.NO_CHECKINS, "fr")] * 2


def test_resume_does_not_undo_a_stop_decided_by_the_team(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr", enrolled=True)
    with db.write() as session:
        enrolment = session.scalars(select(CheckinEnrolment)).one()
        enrolment.status = "stopped"
        session.add(
            EnrolmentChange(
                enrolment_id=enrolment.id,
                change="stopped",
                detail={"by": "worker"},
                created_at=clock.now(),
            )
        )
    phone(lou, "REPRENDRE")
    assert _enrolment_status(db, lou) == "stopped"
    assert _texts(db, lou) == [_sent(keyword_texts.NO_CHECKINS, "fr")]


# -------------------------------------------------------------------------- empty


def test_an_empty_message_is_kept_and_not_answered(
    db: Database, service: ConversationService, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr")
    _start_checkin(service, lou)
    before = len(_texts(db, lou))
    handled = phone(lou, "")
    phone(lou, "   ")
    assert _texts(db, lou, before) == []
    with db.read() as session:
        assert session.get(Message, handled.message_id) is not None


def test_an_empty_first_message_still_starts_first_contact(
    db: Database, service: ConversationService
) -> None:
    handled = service.handle(InboundMessage(Channel.SMS, "+33639980166", "", clock.now()))
    assert handled.replies


@pytest.mark.parametrize("command", [Command.PAUSE, Command.STOP])
def test_a_person_who_pauses_or_stops_has_no_next_check_in_planned(
    command: Command, db: Database, person: PersonFactory, phone: Phone
) -> None:
    # As when a worker pauses: the card once showed "next message 11 Dec" beside "paused".
    lou = person("fr", enrolled=True)
    with db.read() as session:
        assert session.scalars(select(CheckinEnrolment)).one().next_due_at is not None
    phone(lou, _word(command, "fr"))
    with db.read() as session:
        enrolment = session.scalars(select(CheckinEnrolment)).one()
    assert enrolment.status in {"paused", "stopped"}
    assert enrolment.next_due_at is None


def test_resuming_plans_the_next_check_in_again(
    db: Database, person: PersonFactory, phone: Phone
) -> None:
    lou = person("fr", enrolled=True)
    phone(lou, _word(Command.PAUSE, "fr"))
    phone(lou, _word(Command.RESUME, "fr"))
    with db.read() as session:
        enrolment = session.scalars(select(CheckinEnrolment)).one()
    assert enrolment.status == "active"
    assert enrolment.next_due_at is not None
