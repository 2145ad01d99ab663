"""Acceptance: a message that suggests danger is answered at once, whatever else is going on.

Issue 7, acceptance 1: mid-way through first_contact, "je veux en finir" gets the
suicide-prevention reply in French at once (an urgent outbox row, first in the person's
queue) and an urgent case; the same in every shipped language with a message from the
corpus; a held case or an opt-out does not stop it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import alerts as alerts_module
from bot import clock, outbox
from bot.config import OnCallAddress, Settings
from bot.conversation import ConversationService, active_conversation
from bot.dispatch import Dispatcher
from bot.engine.text import LRI, PDI
from bot.extensions import relais
from bot.i18n import LANGUAGES
from bot.reception import Handled, InboundMessage
from bot.safety import CASE_REASON, SafetyHook
from bot.safety_lexicon import shipped_lexicon
from bot.safety_texts import CONCERN, SUICIDE_SELFHARM, WAITING
from storage.db import Database
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    Contact,
    Direction,
    Message,
    OutboxItem,
    Priority,
)
from tests.conftest import FrozenClock
from tests.safety.corpus import load_corpus
from tests.support.recording import RecordingAdapter

CHAT = "7001"  # a Telegram chat id: the dispatcher test adapter speaks Telegram


@pytest.fixture
def service(app: Flask) -> ConversationService:
    """The app's conversation service, with the safety hook first (as it is wired)."""
    conversations = relais(app).conversations
    assert isinstance(conversations.hooks[0], SafetyHook)
    return conversations


def _send(service: ConversationService, text: str, chat: str = CHAT) -> Handled:
    return service.handle(
        InboundMessage(channel=Channel.TELEGRAM, address=chat, text=text, received_at=clock.now())
    )


def _choose_language_and_reach_consent(service: ConversationService, language: str) -> int:
    """Start first_contact, pick `language` from the menu: the run waits for consent."""
    first = _send(service, "Bonjour")
    _send(service, str(LANGUAGES.index(language) + 1))
    return first.contact_id


def _queue(session: Session, contact_id: int) -> list[tuple[OutboxItem, Message]]:
    """The person's outbox in the dispatcher's order: priority first, then age."""
    rows = session.execute(
        select(OutboxItem, Message)
        .join(Message, Message.id == OutboxItem.message_id)
        .where(OutboxItem.contact_id == contact_id)
        .order_by(OutboxItem.priority.desc(), OutboxItem.due_at, OutboxItem.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def _danger_cases(session: Session, contact_id: int) -> list[Case]:
    return list(
        session.scalars(
            select(Case).where(Case.contact_id == contact_id, Case.reason == CASE_REASON)
        )
    )


def test_je_veux_en_finir_mid_first_contact_gets_the_french_suicide_reply_first(
    service: ConversationService, db: Database
) -> None:
    contact_id = _choose_language_and_reach_consent(service, "fr")
    with db.read() as session:
        queued_before = len(_queue(session, contact_id))
        run = active_conversation(session, contact_id)
        assert run is not None
        state_before = dict(run.state)
    assert queued_before > 0, "the flow's messages are still waiting to be sent"

    handled = _send(service, "je veux en finir")

    assert handled.replies == []  # the flow did not answer: the hook did
    with db.read() as session:
        queue = _queue(session, contact_id)
        first_item, first_message = queue[0]
        assert first_message.kind == "safety"
        assert first_item.priority == outbox.PRIORITY_URGENT
        assert first_message.text is not None
        assert "Appelez le 3114" in first_message.text
        assert "SMS au 114" in first_message.text
        assert len(queue) == queued_before + 1
        [case] = _danger_cases(session, contact_id)
        assert (case.priority, case.category, case.status) == (
            Priority.URGENT,
            "suicide_selfharm",
            CaseStatus.OPEN,
        )
        assert case.summary is not None
        assert "je veux en finir" in case.summary
        inbound = session.scalars(
            select(Message)
            .where(Message.contact_id == contact_id, Message.direction == Direction.IN)
            .order_by(Message.id.desc())
        ).first()
        assert inbound is not None
        assert inbound.case_id == case.id
        assert first_message.case_id == case.id
        # The first contact waits where it was: the person can go on once they are safe.
        run = active_conversation(session, contact_id)
        assert run is not None
        assert run.state == state_before


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_explicit_message_from_the_corpus_gets_the_reply_in_the_persons_language(
    service: ConversationService, db: Database, language: str
) -> None:
    corpus = load_corpus(language)
    message = next(
        p.text for p in corpus.positives if p.explicit and p.category == "suicide_selfharm"
    )
    contact_id = _choose_language_and_reach_consent(service, language)

    _send(service, message)

    translated = service.runtime.catalogs.translator(language).gettext(SUICIDE_SELFHARM)
    if language != "en":
        assert translated != SUICIDE_SELFHARM, f"no {language} translation of the reply"
    with db.read() as session:
        _, first = _queue(session, contact_id)[0]
        assert first.kind == "safety"
        assert first.text is not None
        if language in ("ar", "fa_AF"):
            # Right-to-left: the numbers are isolated so they read in order.
            assert f"{LRI}3114{PDI}" in first.text
            assert first.text.replace(LRI, "").replace(PDI, "") == translated.format(
                **shipped_lexicon().numbers("suicide_selfharm")
            ).replace(LRI, "").replace(PDI, "")
        else:
            assert first.text == translated.format(**shipped_lexicon().numbers("suicide_selfharm"))
        [case] = _danger_cases(session, contact_id)
        assert case.priority == Priority.URGENT


def test_each_category_gives_its_own_numbers(service: ConversationService, db: Database) -> None:
    expectations = {
        "il me frappe tous les soirs": ("violence_abuse", ["17", "112", "114", "3919", "119"]),
        "mon fils ne respire plus": ("medical_emergency", ["15", "112", "114"]),
        "je dors dehors ce soir": ("no_shelter_tonight", ["115", "112", "114"]),
    }
    for number, (text, (category, numbers)) in enumerate(expectations.items()):
        chat = f"80{number}"
        contact_id = _send(service, "Bonjour", chat).contact_id
        _send(service, text, chat)
        with db.read() as session:
            _, first = _queue(session, contact_id)[0]
            [case] = _danger_cases(session, contact_id)
        assert case.category == category
        assert first.text is not None
        for helpline in numbers:
            assert f" {helpline}" in first.text, (category, helpline)


def test_a_case_held_by_a_worker_does_not_stop_the_reply(
    service: ConversationService, db: Database
) -> None:
    contact_id = _choose_language_and_reach_consent(service, "fr")
    now = clock.now()
    with db.write() as session:
        held = Case(
            contact_id=contact_id,
            queue="general",
            status=CaseStatus.CLAIMED,
            priority=Priority.NORMAL,
            priority_rank=Priority.NORMAL.rank,
            reason="asked_for_person",
            opened_at=now,
            claimed_at=now,
        )
        session.add(held)
        session.flush()
        held_id = held.id

    _send(service, "jveux mourir")

    with db.read() as session:
        _, first = _queue(session, contact_id)[0]
        assert first.kind == "safety"
        [danger] = _danger_cases(session, contact_id)
        assert danger.id != held_id
        assert danger.priority == Priority.URGENT
        # The worker in the conversation sees the message arrive in their case as well,
        # marked for the transcript, and the case they hold moves up to urgent.
        [seen] = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == held_id, CaseEvent.kind == "inbound")
        ).all()
        assert seen.data is not None
        assert seen.data["safety"]["level"] == "danger"
        held_now = session.get(Case, held_id)
        assert held_now is not None
        assert held_now.priority == Priority.URGENT
        message = session.get(Message, seen.message_id)
        assert message is not None
        assert message.payload == {"safety": {"category": "suicide_selfharm", "level": "danger"}}


@pytest.fixture
def sent(db: Database) -> Iterator[tuple[Dispatcher, RecordingAdapter]]:
    adapter = RecordingAdapter(Channel.TELEGRAM)
    dispatcher = Dispatcher(db, [adapter], worker_id="safety-test", sleep=lambda _s: None)
    yield dispatcher, adapter
    dispatcher.close()


def _drain(dispatcher: Dispatcher) -> None:
    for _ in range(50):
        if not dispatcher.run_once():
            return


def test_the_danger_reply_leaves_before_what_was_already_queued(
    service: ConversationService, sent: tuple[Dispatcher, RecordingAdapter]
) -> None:
    dispatcher, adapter = sent
    _choose_language_and_reach_consent(service, "fr")
    _send(service, "je veux en finir")
    _drain(dispatcher)
    assert adapter.sent
    assert "3114" in adapter.sent[0].text


def test_someone_who_opted_out_still_gets_the_reply(
    service: ConversationService, db: Database, sent: tuple[Dispatcher, RecordingAdapter]
) -> None:
    dispatcher, adapter = sent
    contact_id = _choose_language_and_reach_consent(service, "fr")
    _drain(dispatcher)
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.opted_out_at = clock.now()
    adapter.sent.clear()

    _send(service, "mon mari me frappe")
    _drain(dispatcher)

    assert len(adapter.sent) == 1
    assert "3919" in adapter.sent[0].text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("بدي موت", "ar"),
        ("хочу умереть", "uk"),  # Russian, from someone who will choose Ukrainian
        ("میخواهم بمیرم", "fa_AF"),
    ],
)
def test_before_choosing_a_language_the_reply_is_in_the_alphabet_the_message_was_in(
    service: ConversationService, db: Database, text: str, language: str
) -> None:
    contact_id = _send(service, text).contact_id
    translated = service.runtime.catalogs.translator(language).gettext(SUICIDE_SELFHARM)
    with db.read() as session:
        _, first = _queue(session, contact_id)[0]
    assert first.text is not None
    assert first.text.startswith(translated.split(" ")[0])


def test_a_new_person_writing_latin_letters_gets_the_default_language_never_english(
    service: ConversationService, db: Database
) -> None:
    # "suicide" is French and English alike: a new person is answered in French.
    contact_id = _send(service, "je pense au suicide tous les jours").contact_id
    french = service.runtime.catalogs.translator("fr").gettext(SUICIDE_SELFHARM)
    with db.read() as session:
        _, first = _queue(session, contact_id)[0]
    assert first.text == french.format(**shipped_lexicon().numbers("suicide_selfharm"))


def test_a_second_danger_message_adds_to_the_open_case_and_keeps_the_gravest_category(
    service: ConversationService, db: Database
) -> None:
    contact_id = _send(service, "il me frappe").contact_id
    _send(service, "je veux mourir")
    _send(service, "je dors dehors ce soir")
    with db.read() as session:
        [case] = _danger_cases(session, contact_id)
        assert case.category == "suicide_selfharm"
        replies = [m for _, m in _queue(session, contact_id) if m.kind == "safety"]
        attached = session.scalars(
            select(Message).where(Message.case_id == case.id, Message.direction == Direction.IN)
        ).all()
    assert len(replies) == 3
    assert len(attached) == 3


def test_an_ordinary_message_goes_to_the_flow(service: ConversationService, db: Database) -> None:
    contact_id = _choose_language_and_reach_consent(service, "fr")
    handled = _send(service, "oui")
    assert handled.replies
    with db.read() as session:
        assert _danger_cases(session, contact_id) == []


def test_an_error_in_the_scan_lets_the_flow_answer(
    service: ConversationService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = next(hook for hook in service.hooks if isinstance(hook, SafetyHook))

    def broken(text: str, language: str | None = None) -> None:
        raise RuntimeError("lexicon exploded")

    monkeypatch.setattr(hook.scanner, "scan", broken)
    handled = _send(service, "je veux en finir")
    assert handled.replies  # the flow answered: nobody is left without a reply
    with db.read() as session:
        assert _danger_cases(session, handled.contact_id) == []


def test_a_danger_message_alerts_the_on_call_worker_at_once(
    app: Flask, db: Database, frozen_clock: FrozenClock
) -> None:
    conversations = relais(app).conversations
    conversations.settings = conversations.settings.with_overrides(
        {"oncall": (OnCallAddress("telegram", "5550001"),)}
    )
    # The hook reads the on-call list from the settings it was built with.
    conversations.hooks[0] = SafetyHook(conversations.runtime, conversations.settings)

    contact_id = _send(conversations, "he is going to kill me").contact_id

    with db.read() as session:
        [case] = _danger_cases(session, contact_id)
        alerts = session.scalars(select(Message).where(Message.kind == "alert")).all()
    assert case.alerts_sent == 1
    assert [(alert.case_id, (alert.payload or {}).get("to")) for alert in alerts] == [
        (case.id, "5550001")
    ]
    # The alert says which case, never what the person wrote.
    assert "kill" not in (alerts[0].text or "")


def test_a_failing_alert_keeps_the_reply_and_the_case(
    service: ConversationService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def alert_now(session: Session, case: Case, now: datetime, *, settings: Settings) -> bool:
        raise RuntimeError("the SMS gateway is down")

    monkeypatch.setattr(alerts_module, "alert_now", alert_now)

    handled = _send(service, "I want to die")

    assert handled.replies == []
    with db.read() as session:
        assert len(_danger_cases(session, handled.contact_id)) == 1
        assert _queue(session, handled.contact_id)[0][1].kind == "safety"


def test_a_concern_gets_the_warm_reply_and_an_urgent_case_to_assess(
    service: ConversationService, db: Database
) -> None:
    contact_id = _choose_language_and_reach_consent(service, "fr")

    handled = _send(service, "tout le monde sera mieux sans moi")

    assert handled.replies == []
    concern = service.runtime.catalogs.translator("fr").gettext(CONCERN)
    with db.read() as session:
        _, first = _queue(session, contact_id)[0]
        [case] = _danger_cases(session, contact_id)
    assert first.kind == "safety"
    assert first.text == concern.format(**shipped_lexicon().numbers("concern"))
    for number in ("3114", "112", "114"):
        assert number in first.text
    for number in ("3919", "115"):
        assert number not in first.text
    assert (case.priority, case.category, case.status) == (
        Priority.URGENT,
        "concern",
        CaseStatus.OPEN,
    )


def test_while_the_case_waits_the_person_hears_someone_is_coming_at_most_every_half_hour(
    service: ConversationService, db: Database, frozen_clock: FrozenClock
) -> None:
    contact_id = _choose_language_and_reach_consent(service, "fr")
    _send(service, "j'ai donné mon chat à la voisine, j'ai écrit une lettre à chacun")
    waiting = service.runtime.catalogs.translator("fr").gettext(WAITING)

    later = [_send(service, text) for text in ("allo ?", "oui", "vous etes la ?")]
    frozen_clock.advance(timedelta(minutes=31))
    after_half_an_hour = _send(service, "2")

    assert all(handled.replies == [] for handled in [*later, after_half_an_hour])
    with db.read() as session:
        [case] = _danger_cases(session, contact_id)
        safety = [m.text for _, m in _queue(session, contact_id) if m.kind == "safety"]
        attached = session.scalars(
            select(Message).where(Message.case_id == case.id, Message.direction == Direction.IN)
        ).all()
        run = active_conversation(session, contact_id)
    # The concern reply, then one "someone is coming" after half an hour; no flow question.
    assert len(safety) == 2
    assert safety[1] == waiting.format(emergency="112", sms="114")
    assert len(attached) == 5
    assert run is not None  # the first contact waits until a worker has seen the person


def test_stop_still_works_while_a_danger_case_waits(
    service: ConversationService, db: Database
) -> None:
    contact_id = _send(service, "je veux mourir").contact_id
    _send(service, "STOP")
    with db.read() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        assert contact.opted_out_at is not None
