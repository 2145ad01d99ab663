"""The web simulator: the flows answer through the outbox, shown as a phone shows them."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.dashboard.phone import Bubble, keyboard
from bot.dashboard.simulation import SimulatorState
from storage.db import Database
from storage.models import Channel, ContactAddress, Conversation, Message, MessageStatus, OutboxItem
from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in, text

PAGE = "/simulator/"


@pytest.fixture
def signed_in(client: FlaskClient, worker: Credentials) -> FlaskClient:
    log_in(client, worker.email, worker.password)
    return client


def post(client: FlaskClient, path: str, **data: str) -> str:
    """Submit a simulator form and return the page it leads back to."""
    response = client.post(path, data={**data, "csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 302
    assert response.location.startswith(PAGE)
    return text(client.get(PAGE))


def address_of(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        return str(session["simulator"]["address"])


def test_the_simulator_needs_a_login(client: FlaskClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/login" in response.location


def test_the_simulator_is_in_the_menu(signed_in: FlaskClient) -> None:
    assert 'href="/simulator/"' in text(signed_in.get("/queue/"))


def test_a_form_without_its_token_is_refused(signed_in: FlaskClient) -> None:
    response = signed_in.post("/simulator/send", data={"text": "Bonjour"})
    assert response.status_code == 400


def test_a_message_is_answered_through_the_outbox_and_delivered(
    signed_in: FlaskClient, db: Database
) -> None:
    page = post(signed_in, "/simulator/send", text="Bonjour")
    assert "Bonjour" in page
    assert "Choisissez votre langue" in page or "langue" in page.lower()
    with db.read() as session:
        replies = session.scalars(
            select(Message).where(Message.channel == Channel.SIMULATOR, Message.direction == "out")
        ).all()
        assert replies
        # The dispatcher sent them through the simulator adapter: nothing left queued.
        assert {m.status for m in replies} == {MessageStatus.SENT}
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0


def test_sms_display_numbers_the_choices_and_counts_segments(signed_in: FlaskClient) -> None:
    page = post(signed_in, "/simulator/send", text="Bonjour")
    assert re.search(r'<span class="line" dir="auto">1\. .*Français', page)
    assert re.search(r"\d+ SMS \((GSM-7|UCS-2), \d+ unités\)", page)


def test_telegram_display_shows_the_choices_as_buttons_that_send_their_label(
    signed_in: FlaskClient, db: Database
) -> None:
    post(signed_in, "/simulator/display", display="telegram")
    page = post(signed_in, "/simulator/send", text="Bonjour")
    assert 'class="keyboard"' in page
    assert re.search(r'<button type="submit" name="text" value="[^"]*English', page)
    assert "SMS (" not in page
    page = post(signed_in, "/simulator/send", text="\u2066English\u2069")
    assert "I will write to you in this language" in page or "English" in page
    with db.read() as session:
        contact = session.scalar(
            select(ContactAddress).where(ContactAddress.address == address_of(signed_in))
        )
        assert contact is not None
        assert contact.contact.language == "en"


def test_a_new_conversation_gets_a_new_address(signed_in: FlaskClient) -> None:
    post(signed_in, "/simulator/send", text="Bonjour")
    before = address_of(signed_in)
    page = post(signed_in, "/simulator/reset")
    assert address_of(signed_in) != before
    assert "Bonjour" not in page


def test_choosing_a_language_makes_a_new_person_who_is_greeted_in_it(
    signed_in: FlaskClient,
) -> None:
    post(signed_in, "/simulator/send", text="Bonjour")
    before = address_of(signed_in)
    page = post(signed_in, "/simulator/person", language="ar", address=before)
    assert address_of(signed_in) != before
    page = post(signed_in, "/simulator/send", text="مرحبا")
    assert "اختر لغتك" in page


def test_letting_time_pass_sends_the_reminder_then_records_the_week_missed(
    signed_in: FlaskClient, db: Database
) -> None:
    post(signed_in, "/simulator/person", language="en", address="")
    post(signed_in, "/simulator/start", flow="weekly_checkin")
    page = post(signed_in, "/simulator/wait", duration="24h")
    assert "Just checking on you" in page
    post(signed_in, "/simulator/wait", duration="72h")
    with db.read() as session:
        run = session.scalars(select(Conversation).order_by(Conversation.id.desc())).first()
        assert run is not None
        assert run.flow == "weekly_checkin"
        assert run.outcome == "missed"
    with signed_in.session_transaction() as session:
        # 24 h, then 72 h more: the person's clock is four days ahead.
        assert session["simulator"]["offset"] == 96 * 3600


def test_a_bad_session_state_becomes_a_new_person() -> None:
    state = SimulatorState.from_session({"address": "x", "language": "fr", "display": "fax"}, "fr")
    assert state.display == "sms"
    assert state.address.startswith("web-")


def test_the_telegram_keyboard_is_the_latest_message_s_until_the_person_answers() -> None:
    def out(choices: tuple[str, ...]) -> Bubble:
        return Bubble(1, False, ("?",), None, "shown", choices=choices)  # type: ignore[arg-type]

    answer = Bubble(2, True, ("1",), None, "shown")  # type: ignore[arg-type]
    assert keyboard([out(("Oui", "Non"))]) == ("Oui", "Non")
    assert keyboard([out(("Oui", "Non")), out(())]) == ()
    assert keyboard([out(("Oui", "Non")), answer]) == ()
