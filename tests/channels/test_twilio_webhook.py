"""Twilio webhooks: verify, store, acknowledge; delivery statuses and what failures mean."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from bot import clock
from bot.app import create_app
from bot.channels.base import Outbound
from bot.channels.twilio import TwilioAdapter
from bot.channels.twilio_webhook import EMPTY_TWIML
from bot.config import Settings
from bot.conversation import FIRST_CONTACT_FLOW
from bot.delivery import DELIVERY_FAILURE_REASON
from bot.engine.context import ContactView
from bot.engine.events import MessageCreated
from bot.extensions import relais
from bot.runtime import shipped_runtime
from storage.db import Database
from storage.models import (
    Case,
    Channel,
    CheckinEnrolment,
    Contact,
    ContactAddress,
    Direction,
    EnrolmentStatus,
    Message,
    MessageStatus,
    OutboxItem,
)
from tests.conftest import FrozenClock, process_inbox
from tests.fakes.twilio import (
    AUTH_TOKEN,
    PUBLIC_URL,
    SENDER,
    FakeTwilio,
    inbound_params,
    settings_overrides,
    sign,
    status_params,
)

PERSON = "+33639980101"
INBOUND = "/webhooks/twilio"
STATUS = "/webhooks/twilio/status"
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def first_words(language: str) -> list[str]:
    """What the engine says to a new person in `language`: the reference, whatever the wording."""
    view = ContactView(language=language, fields={})
    sprint = shipped_runtime().runner.start(FIRST_CONTACT_FLOW, view, clock.now())
    return [event.text for event in sprint.events if isinstance(event, MessageCreated)]


@pytest.fixture
def fake(fake_twilio: FakeTwilio) -> FakeTwilio:
    """The fake Twilio REST API this test talks to."""
    return fake_twilio


def build_app(settings: Settings) -> Flask:
    return create_app({"TESTING": True}, settings=settings)


@pytest.fixture
def twilio_app(settings: Settings) -> Iterator[Flask]:
    """The app with the Twilio channel on, behind PUBLIC_URL."""
    application = build_app(settings.with_overrides(settings_overrides()))
    yield application
    relais(application).database.dispose()


@pytest.fixture
def client(twilio_app: Flask) -> FlaskClient:
    return twilio_app.test_client()


@pytest.fixture
def db(twilio_app: Flask) -> Database:
    return relais(twilio_app).database


def post_signed(
    client: FlaskClient,
    path: str,
    params: Mapping[str, str],
    *,
    url: str | None = None,
    token: str = AUTH_TOKEN,
) -> TestResponse:
    """POST `params` as Twilio would, signed for `url` (default: PUBLIC_URL + path).

    Then the worker's inbox processes what the webhook stored, as it would at once.
    """
    signature = sign(url or PUBLIC_URL + path, params, token)
    response = client.post(path, data=dict(params), headers={"X-Twilio-Signature": signature})
    process_inbox(client.application)
    return response


def count(db: Database, model: type[object]) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def stored_nothing(db: Database) -> bool:
    return all(count(db, model) == 0 for model in (Contact, Message, OutboxItem))


def outbound(session: Session) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)
        )
    )


def sent_reply(client: FlaskClient, db: Database, *, whatsapp: bool = False) -> tuple[int, str]:
    """A person writes; their first reply is handed to Twilio (as the dispatcher would)."""
    assert (
        post_signed(client, INBOUND, inbound_params("Bonjour", whatsapp=whatsapp)).status_code
        == 200
    )
    sid = "SM" + "5" * 32
    with db.write() as session:
        reply = outbound(session)[0]
        reply.provider_id = sid
        reply.status = MessageStatus.SENT
        return reply.id, sid


def status_of(db: Database, message_id: int) -> Message:
    with db.read() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


# --- inbound messages ---


def test_a_signed_message_is_stored_and_answered_with_empty_twiml(
    client: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    params = inbound_params("Bonjour", sid="SM" + "1" * 32)

    response = post_signed(client, INBOUND, params)

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == EMPTY_TWIML
    with db.read() as session:
        message = session.scalars(select(Message).where(Message.direction == Direction.IN)).one()
        address = session.scalars(select(ContactAddress)).one()
        replies = outbound(session)
        queued = session.scalars(select(OutboxItem)).all()
    assert (message.provider_id, message.text, message.kind) == ("SM" + "1" * 32, "Bonjour", "text")
    assert message.created_at == frozen_clock.now()
    assert (address.channel, address.address) == ("sms", PERSON)
    # The language menu, in French until the person chooses, waits in the outbox.
    assert [reply.text for reply in replies] == first_words("fr")
    assert replies[0].payload is not None
    assert "English" in replies[0].payload["choices"]
    assert {item.message_id for item in queued} == {reply.id for reply in replies}
    assert all(reply.channel == "sms" for reply in replies)


def test_replies_are_queued_in_the_language_the_person_chose(
    client: FlaskClient, db: Database
) -> None:
    post_signed(client, INBOUND, inbound_params("Bonjour"))

    response = post_signed(client, INBOUND, inbound_params("5"))  # 5. Українська

    assert response.status_code == 200
    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
        replies = outbound(session)
    assert contact.language == "uk"
    after_choice = replies[len(first_words("fr")) :]
    assert after_choice
    assert all(CYRILLIC.search(reply.text or "") for reply in after_choice)


def test_a_retried_message_sid_is_acknowledged_and_changes_nothing(
    client: FlaskClient, db: Database
) -> None:
    params = inbound_params("Bonjour")

    responses = [post_signed(client, INBOUND, params) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert {r.get_data(as_text=True) for r in responses} == {EMPTY_TWIML}
    with db.read() as session:
        inbound = session.scalars(select(Message).where(Message.direction == Direction.IN)).all()
        replies = outbound(session)
    assert len(inbound) == 1
    assert [reply.text for reply in replies] == first_words("fr")
    assert count(db, OutboxItem) == len(first_words("fr"))


def test_whatsapp_messages_are_stored_on_the_whatsapp_address(
    client: FlaskClient, db: Database
) -> None:
    response = post_signed(client, INBOUND, inbound_params("Salam", whatsapp=True))

    assert response.status_code == 200
    with db.read() as session:
        address = session.scalars(select(ContactAddress)).one()
        replies = outbound(session)
        queued = session.scalars(select(OutboxItem)).all()
    assert (address.channel, address.address) == ("whatsapp", PERSON)
    assert replies
    assert all(reply.channel == "whatsapp" for reply in replies)
    assert all(item.channel == "whatsapp" for item in queued)


def test_the_same_number_on_sms_and_whatsapp_are_two_addresses(
    client: FlaskClient, db: Database
) -> None:
    post_signed(client, INBOUND, inbound_params("Bonjour"))
    post_signed(client, INBOUND, inbound_params("Bonjour", whatsapp=True))

    with db.read() as session:
        addresses = session.scalars(select(ContactAddress).order_by(ContactAddress.id)).all()
    assert [(a.channel, a.address) for a in addresses] == [("sms", PERSON), ("whatsapp", PERSON)]


@pytest.mark.parametrize(
    ("media_types", "text"),
    [(("image/jpeg",), "[photo]"), (("audio/ogg", "image/png"), "[audio] [photo]")],
)
def test_a_message_with_only_media_is_described(
    client: FlaskClient, db: Database, media_types: tuple[str, ...], text: str
) -> None:
    response = post_signed(client, INBOUND, inbound_params("", media_types=media_types))

    assert response.status_code == 200
    with db.read() as session:
        message = session.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert (message.kind, message.text) == ("media", text)


def test_a_caption_with_media_is_the_text(client: FlaskClient, db: Database) -> None:
    post_signed(client, INBOUND, inbound_params("mon attestation", media_types=("image/jpeg",)))

    with db.read() as session:
        message = session.scalars(select(Message).where(Message.direction == Direction.IN)).one()
    assert (message.kind, message.text) == ("text", "mon attestation")


# --- refused requests ---


def test_an_unsigned_message_is_refused_and_nothing_is_stored(
    client: FlaskClient, db: Database
) -> None:
    response = client.post(INBOUND, data=inbound_params("Bonjour"))

    assert response.status_code == 403
    assert stored_nothing(db)


@pytest.mark.parametrize(
    "how",
    ["another token", "another url", "the url Flask sees", "tampered body", "garbage"],
)
def test_a_wrongly_signed_message_is_refused_and_nothing_is_stored(
    client: FlaskClient, db: Database, how: str
) -> None:
    params = inbound_params("Bonjour")
    signature = {
        "another token": sign(PUBLIC_URL + INBOUND, params, "another-auth-token"),
        "another url": sign("https://attacker.example.org" + INBOUND, params),
        # Behind a proxy, PUBLIC_URL is what Twilio signed, not the local URL.
        "the url Flask sees": sign("http://localhost" + INBOUND, params),
        "tampered body": sign(PUBLIC_URL + INBOUND, {**params, "Body": "Bonsoir"}),
        "garbage": "not-a-signature",
    }[how]

    response = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 403
    assert response.mimetype == "text/plain"
    assert stored_nothing(db)


def test_without_public_url_the_request_url_is_what_is_signed(settings: Settings) -> None:
    application = build_app(settings.with_overrides(settings_overrides(public_url=None)))
    params = inbound_params("Bonjour")

    response = post_signed(
        application.test_client(), INBOUND, params, url="http://localhost" + INBOUND
    )

    assert response.status_code == 200
    relais(application).database.dispose()


def test_the_query_string_is_part_of_the_signed_url(client: FlaskClient, db: Database) -> None:
    params = inbound_params("Bonjour")
    path = INBOUND + "?source=sms-fr"

    response = post_signed(client, path, params)

    assert response.status_code == 200
    assert count(db, Message) > 1


def test_webhooks_are_not_found_when_twilio_is_not_configured(settings: Settings) -> None:
    application = build_app(settings)
    params = inbound_params("Bonjour")

    responses = [post_signed(application.test_client(), path, params) for path in (INBOUND, STATUS)]

    assert [r.status_code for r in responses] == [404, 404]
    assert stored_nothing(relais(application).database)
    relais(application).database.dispose()


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
def test_a_message_without_its_sid_or_sender_is_a_bad_request(
    client: FlaskClient, db: Database, missing: str
) -> None:
    params = {k: v for k, v in inbound_params("Bonjour").items() if k != missing}

    response = post_signed(client, INBOUND, params)

    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "required" in response.get_data(as_text=True)
    assert stored_nothing(db)


def test_an_oversized_body_is_refused_and_nothing_is_stored(
    client: FlaskClient, db: Database
) -> None:
    params = inbound_params("x" * 300_000)

    response = post_signed(client, INBOUND, params)

    assert response.status_code == 413
    assert stored_nothing(db)


# --- status callbacks ---


def test_status_callbacks_move_a_message_to_delivered(
    client: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    message_id, sid = sent_reply(client, db)

    responses = [post_signed(client, STATUS, status_params(sid, s)) for s in ("sent", "delivered")]

    assert [r.status_code for r in responses] == [204, 204]
    message = status_of(db, message_id)
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at == frozen_clock.now()


def test_a_late_status_never_moves_a_message_backwards(client: FlaskClient, db: Database) -> None:
    message_id, sid = sent_reply(client, db)

    for reported in ("delivered", "sent", "queued", "failed"):
        post_signed(client, STATUS, status_params(sid, reported, error_code="30006"))

    message = status_of(db, message_id)
    assert message.status == MessageStatus.DELIVERED
    with db.read() as session:
        address = session.scalars(select(ContactAddress)).one()
    # A "failed" that came after "delivered" says nothing about the number.
    assert address.unreachable_at is None


def test_a_failure_without_an_address_problem_only_fails_the_message(
    client: FlaskClient, db: Database
) -> None:
    message_id, sid = sent_reply(client, db)

    post_signed(client, STATUS, status_params(sid, "undelivered", error_code="30003"))

    message = status_of(db, message_id)
    assert (message.status, message.error_code) == (MessageStatus.UNDELIVERED, "30003")
    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
        address = session.scalars(select(ContactAddress)).one()
    assert contact.opted_out_at is None
    assert address.unreachable_at is None


def test_error_21610_opts_the_contact_out(
    client: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    message_id, sid = sent_reply(client, db)

    response = post_signed(client, STATUS, status_params(sid, "failed", error_code="21610"))

    assert response.status_code == 204
    message = status_of(db, message_id)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "21610")
    with db.read() as session:
        contact = session.scalars(select(Contact)).one()
    assert contact.opted_out_at == frozen_clock.now()


def test_error_30006_marks_the_address_and_opens_a_case_for_someone_in_checkins(
    client: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    message_id, sid = sent_reply(client, db, whatsapp=True)
    with db.write() as session:
        address = session.scalars(select(ContactAddress)).one()
        session.add(
            CheckinEnrolment(
                contact_id=address.contact_id,
                status=EnrolmentStatus.ACTIVE,
                channel=address.channel,
                address_id=address.id,
                language="fr",
                timezone="Europe/Paris",
                weekday=2,
                minute_of_day=600,
                created_at=frozen_clock.now(),
                updated_at=frozen_clock.now(),
            )
        )

    response = post_signed(
        client,
        STATUS,
        status_params(sid, "undelivered", error_code="30006", to=f"whatsapp:{PERSON}"),
    )

    assert response.status_code == 204
    assert status_of(db, message_id).status == MessageStatus.UNDELIVERED
    with db.read() as session:
        address = session.scalars(select(ContactAddress)).one()
        case = session.scalars(select(Case)).one()
    assert address.unreachable_at == frozen_clock.now()
    assert address.unreachable_reason is not None
    assert "30006" in address.unreachable_reason
    assert (case.reason, case.queue, case.contact_id) == (
        DELIVERY_FAILURE_REASON,
        "checkins",
        address.contact_id,
    )


def test_error_30006_without_checkins_marks_the_address_but_opens_no_case(
    client: FlaskClient, db: Database
) -> None:
    _, sid = sent_reply(client, db)

    post_signed(client, STATUS, status_params(sid, "failed", error_code="30006"))

    with db.read() as session:
        address = session.scalars(select(ContactAddress)).one()
    assert address.unreachable_at is not None
    assert count(db, Case) == 0


def test_a_status_for_a_message_we_did_not_send_is_acknowledged(
    client: FlaskClient, db: Database
) -> None:
    response = post_signed(client, STATUS, status_params("SM" + "9" * 32, "delivered"))

    assert response.status_code == 204
    assert count(db, Message) == 0


def test_a_status_relais_does_not_track_changes_nothing(client: FlaskClient, db: Database) -> None:
    message_id, sid = sent_reply(client, db)

    response = post_signed(client, STATUS, status_params(sid, "canceled"))

    assert response.status_code == 204
    assert status_of(db, message_id).status == MessageStatus.SENT


def test_an_unsigned_status_is_refused_and_changes_nothing(
    client: FlaskClient, db: Database
) -> None:
    message_id, sid = sent_reply(client, db)

    response = client.post(STATUS, data=status_params(sid, "failed", error_code="21610"))

    assert response.status_code == 403
    assert status_of(db, message_id).status == MessageStatus.SENT
    with db.read() as session:
        assert session.scalars(select(Contact)).one().opted_out_at is None


def test_a_status_without_its_status_is_a_bad_request(client: FlaskClient, db: Database) -> None:
    message_id, sid = sent_reply(client, db)
    params = {k: v for k, v in status_params(sid, "delivered").items() if "Status" not in k}

    response = post_signed(client, STATUS, params)

    assert response.status_code == 400
    assert status_of(db, message_id).status == MessageStatus.SENT


# --- end to end, with the adapter standing in for the dispatcher ---


def test_a_whatsapp_reply_reaches_twilio_from_the_whatsapp_sender_and_is_tracked(
    settings: Settings, fake: FakeTwilio
) -> None:
    application = build_app(settings.with_overrides(fake.settings_overrides()))
    client, db = application.test_client(), relais(application).database
    adapter = TwilioAdapter(relais(application).settings)
    post_signed(client, INBOUND, inbound_params("Bonjour", whatsapp=True))
    with db.read() as session:
        reply = outbound(session)[0]
        address = session.get(ContactAddress, reply.address_id)
        assert address is not None
        payload = reply.payload or {}
        queued = Outbound(
            message_id=reply.id,
            channel=Channel(address.channel),
            address=address.address,
            text=reply.text or "",
            choices=tuple(payload.get("choices", ())),
        )

    sent = adapter.send(queued)
    with db.write() as session:
        stored = session.get(Message, reply.id)
        assert stored is not None
        stored.provider_id, stored.status = sent.provider_id, MessageStatus.SENT
    assert sent.provider_id is not None
    post_signed(
        client, STATUS, status_params(sent.provider_id, "delivered", to=f"whatsapp:{PERSON}")
    )

    [received] = fake.sent
    assert (received.to, received.from_) == (f"whatsapp:{PERSON}", f"whatsapp:{SENDER}")
    assert received.body is not None
    assert received.body.startswith(first_words("fr")[0] + "\n1. Français\n2. English")
    assert status_of(db, reply.id).status == MessageStatus.DELIVERED
    adapter.close()
    db.dispose()
