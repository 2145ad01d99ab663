"""The queue in a real browser: claim, read, reply, note, close — and two workers at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from bot import clock, texts
from bot.config import Settings
from bot.conversation import ConversationService
from bot.dispatch import Dispatcher
from bot.extensions import relais
from bot.reception import InboundMessage
from bot.tasks import channel_adapters
from storage.db import Database
from storage.models import Case, Channel, ContactAddress, Message, OutboxItem, Priority
from tests.browser import TIMEOUT_MS, Credentials, LiveServer, login
from tests.cases.builders import open_case, person
from tests.fakes.telegram import FakeTelegram

CHAT = "700100777"


@pytest.fixture
def settings(settings: Settings, fake_telegram: FakeTelegram) -> Settings:
    """The test settings with Telegram pointed at the fake Bot API."""
    # The per-chat limiter runs on real time; nothing here should wait for it.
    return settings.with_overrides(
        {**fake_telegram.settings_overrides(), "telegram_per_chat_rate": 1000.0}
    )


@pytest.fixture
def service(app: Flask) -> ConversationService:
    return relais(app).conversations


@pytest.fixture
def dispatcher(app: Flask) -> Iterator[Dispatcher]:
    extension = relais(app)
    instance = Dispatcher(
        extension.database, channel_adapters(extension.settings), worker_id="queue-test"
    )
    yield instance
    instance.close()


def _drain(dispatcher: Dispatcher, db: Database) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        dispatcher.run_once()
        with db.read() as session:
            if not session.scalar(select(func.count()).select_from(OutboxItem)):
                return
        time.sleep(0.05)
    raise AssertionError("the outbox did not drain")


def _write(service: ConversationService, words: str, *, language: str | None = "uk") -> list[str]:
    """The person writes on Telegram; return what the flows answered."""
    handled = service.handle(
        InboundMessage(Channel.TELEGRAM, CHAT, words, clock.now(), language_hint=language)
    )
    return [reply.text or "" for reply in handled.replies]


def _contact_id(db: Database) -> int:
    with db.read() as session:
        address = session.scalar(select(ContactAddress).where(ContactAddress.address == CHAT))
        assert address is not None
        return address.contact_id


def test_a_worker_claims_the_urgent_case_replies_notes_and_closes(
    page: Page,
    db: Database,
    worker: Credentials,
    service: ConversationService,
    dispatcher: Dispatcher,
    fake_telegram: FakeTelegram,
    app: Flask,
) -> None:
    assert _write(service, "Привіт")  # a Ukrainian speaker starts their first contact
    contact_id = _contact_id(db)
    now = clock.now()
    older_normal = open_case(
        db, person(db, name="Odile", address="1001"), opened_at=now - timedelta(hours=6)
    )
    urgent = open_case(db, contact_id, priority=Priority.URGENT, reason="no_shelter", opened_at=now)
    _drain(dispatcher, db)
    sent_before = len(fake_telegram.sent)

    login(page, worker.email, worker.password)
    items = page.locator("ol.queue > li")
    expect(items.first).to_contain_text("Nulle part où dormir ce soir")
    expect(items.nth(1)).to_contain_text("Odile")
    assert f"/queue/cases/{older_normal}" in items.nth(1).inner_html()

    items.first.get_by_role("button", name="Prendre").click()
    page.wait_for_url(f"**/queue/cases/{urgent}")
    expect(page.locator("#holder")).to_contain_text("vous")
    # The transcript: what the person wrote and what the assistant answered.
    expect(page.locator("#transcript")).to_contain_text("Привіт")

    page.get_by_label("Votre réponse").fill("Bonjour, ici Wassim. Je vous appelle dans 10 minutes.")
    expect(page.locator("#sms-count")).to_have_count(0)  # Telegram: no SMS count
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.locator(".messages")).to_contain_text("Réponse en cours d’envoi")
    expect(page.locator("#transcript")).to_contain_text("Je vous appelle dans 10 minutes.")

    page.get_by_label("Note privée").fill("Appel prévu, parle un peu français.")
    page.get_by_role("button", name="Enregistrer la note").click()
    expect(page.locator("#history")).to_contain_text("Appel prévu, parle un peu français.")

    page.get_by_label("Issue").select_option("shelter_115")
    page.get_by_role("button", name="Clore le dossier").click()
    page.wait_for_url("**/queue/cases")
    expect(page.locator(".messages")).to_contain_text("Dossier clos")

    _drain(dispatcher, db)
    delivered = [message.text for message in fake_telegram.sent[sent_before:]]
    ukrainian = relais(app).conversations.runtime.catalogs.translator("uk")
    assert delivered == [
        "Bonjour, ici Wassim. Je vous appelle dans 10 minutes.",
        ukrainian.gettext(texts.CASE_CLOSED),
    ]
    with db.read() as session:
        case = session.get(Case, urgent)
        assert case is not None
        assert (case.status, case.outcome) == ("closed", "shelter_115")


def test_two_workers_claiming_at_once_leave_one_holder_and_tell_the_other(
    browser: Browser,
    live_server: LiveServer,
    page: Page,
    db: Database,
    worker: Credentials,
    supervisor: Credentials,
) -> None:
    case_id = open_case(db, person(db), priority=Priority.URGENT)
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    other = context.new_page()
    try:
        login(page, worker.email, worker.password)
        login(other, supervisor.email, supervisor.password)
        button = f'form[action="/queue/cases/{case_id}/claim"]'
        # Both forms leave before either answer comes back.
        page.evaluate(f"document.querySelector('{button}').requestSubmit()")
        other.evaluate(f"document.querySelector('{button}').requestSubmit()")
        for tab in (page, other):
            tab.wait_for_url(f"**/queue/cases/{case_id}")
        notices = [tab.locator(".messages").inner_text() for tab in (page, other)]
    finally:
        context.close()
    won = [n for n in notices if "Vous avez pris ce dossier" in n]
    lost = [n for n in notices if "a pris ce dossier en premier" in n]
    assert (len(won), len(lost)) == (1, 1)
    with db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        holder = worker if case.assignee_id == worker.id else supervisor
    assert case.assignee_id in (worker.id, supervisor.id)
    assert f"{holder.name} a pris ce dossier en premier." in lost[0]


def test_while_held_the_persons_messages_go_to_the_case_and_after_closing_to_the_flows(
    page: Page,
    db: Database,
    worker: Credentials,
    service: ConversationService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The open page asks for new messages every second instead of every ten.
    monkeypatch.setattr("bot.dashboard.cases.POLL_SECONDS", 1)
    _write(service, "Bonjour", language="fr")
    case_id = open_case(db, _contact_id(db), reason="asked_for_person")
    login(page, worker.email, worker.password)
    page.goto(f"/queue/cases/{case_id}")
    page.get_by_role("button", name="Prendre ce dossier").click()
    expect(page.locator("#holder")).to_contain_text("vous")

    with db.read() as session:
        outbound_before = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "out")
        )
    answered = _write(service, "Vous êtes là ? J'ai besoin d'aide ce soir.", language="fr")
    assert answered == []  # the flows stay quiet while a worker holds the case
    expect(page.locator("#transcript")).to_contain_text("J'ai besoin d'aide ce soir.")
    with db.read() as session:
        outbound_after = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "out")
        )
        held_message = session.scalar(
            select(Message).where(Message.text == "Vous êtes là ? J'ai besoin d'aide ce soir.")
        )
        assert held_message is not None
        assert held_message.case_id == case_id
    assert outbound_after == outbound_before

    page.get_by_label("Issue").select_option("listened")
    page.get_by_role("button", name="Clore le dossier").click()
    page.wait_for_url("**/queue/cases")

    assert _write(service, "Merci !", language="fr") != []  # the flows answer again


def test_the_sms_count_follows_what_the_worker_types(
    page: Page, db: Database, worker: Credentials
) -> None:
    case_id = open_case(db, person(db, channel=Channel.SMS, address="+33639980134"))
    login(page, worker.email, worker.password)
    page.goto(f"/queue/cases/{case_id}")
    page.get_by_role("button", name="Prendre ce dossier").click()
    box = page.get_by_label("Votre réponse")
    box.fill("a" * 161)
    expect(page.locator("#sms-count")).to_contain_text("2 SMS (GSM-7, 161")
    box.fill("Ça va ?")  # "Ç" is GSM-7; "ç" would not be
    expect(page.locator("#sms-count")).to_contain_text("1 SMS (GSM-7, 7")
    box.fill("On se voit à la mission locale, ça te va ?")
    expect(page.locator("#sms-count")).to_contain_text("1 SMS (UCS-2")
