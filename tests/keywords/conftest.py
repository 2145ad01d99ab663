"""Fixtures for the global commands and the flood limit: a cast of people, a phone, a sender.

`service` is the app's conversation service, with `FloodHook` and `KeywordHook` wired
after the safety scan, as bot.services does. `person` makes someone who
already did their first contact, in a given language, optionally enrolled in weekly
check-ins. `phone` sends their messages; `sender` is a dispatcher whose adapter records
what would really leave.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from bot import checkins, clock
from bot.conversation import FIRST_CONTACT_FLOW, ConversationService
from bot.dispatch import Dispatcher
from bot.extensions import relais
from bot.flood import FloodHook
from bot.keywords import KeywordHook
from bot.reception import Handled, InboundMessage
from bot.safety import SafetyWaitHook
from storage.db import Database
from storage.models import (
    Channel,
    CheckinEnrolment,
    Consent,
    Contact,
    ContactAddress,
    Conversation,
    Direction,
    Message,
    RunStatus,
)
from tests.support.recording import RecordingAdapter


@pytest.fixture
def service(app: Flask) -> ConversationService:
    service = relais(app).conversations
    # As wired by bot.services: safety, flood, the global commands, then a waiting danger case.
    assert [type(hook) for hook in service.hooks[1:]] == [FloodHook, KeywordHook, SafetyWaitHook]
    return service


@dataclass
class Person:
    contact_id: int
    address: str
    language: str


PersonFactory = Callable[..., Person]


@pytest.fixture
def person(db: Database) -> PersonFactory:
    """Someone who did their first contact; `enrolled` adds an active weekly check-in."""
    count = iter(range(10, 100))

    def make(language: str = "fr", *, enrolled: bool = False) -> Person:
        now = clock.now()
        phone = f"+336399800{next(count):02d}"
        with db.write() as session:
            contact = Contact(
                created_at=now,
                fields={"first_name": "Lou"},
                language=language,
                consent=Consent.GIVEN,
                consent_at=now,
            )
            address = ContactAddress(
                channel=Channel.SMS, address=phone, created_at=now, last_inbound_at=now
            )
            contact.addresses.append(address)
            session.add(contact)
            session.flush()
            session.add(
                Conversation(
                    contact_id=contact.id,
                    flow=FIRST_CONTACT_FLOW,
                    status=RunStatus.COMPLETED,
                    outcome="completed",
                    state={},
                    started_at=now,
                    updated_at=now,
                    ended_at=now,
                )
            )
            if enrolled:
                enrolment = CheckinEnrolment(
                    contact_id=contact.id,
                    channel=Channel.SMS,
                    address_id=address.id,
                    language=language,
                    timezone="Europe/Paris",
                    weekday=now.weekday(),
                    minute_of_day=600,
                    created_at=now,
                    updated_at=now,
                )
                checkins.schedule(enrolment, now)
                session.add(enrolment)
            return Person(contact.id, phone, language)

    return make


Phone = Callable[[Person, str], Handled]


@pytest.fixture
def phone(service: ConversationService) -> Phone:
    """Send `text` from the person, handled at once."""

    def send(who: Person, text: str) -> Handled:
        return service.handle(InboundMessage(Channel.SMS, who.address, text, clock.now()))

    return send


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter()


@pytest.fixture
def sender(db: Database, adapter: RecordingAdapter) -> Iterator[Callable[[], None]]:
    """Send everything that is due now, as the worker would."""
    dispatcher = Dispatcher(db, [adapter], worker_id="keywords-test", sleep=lambda _s: None)

    def drain() -> None:
        while dispatcher.run_once(clock.now()):
            pass

    yield drain
    dispatcher.close()


def outbound(db: Database, who: Person, since: datetime | None = None) -> list[Message]:
    """The messages written to the person (queued or not), oldest first."""
    with db.read() as session:
        query = select(Message).where(
            Message.contact_id == who.contact_id, Message.direction == Direction.OUT
        )
        if since is not None:
            query = query.where(Message.created_at >= since)
        return list(session.scalars(query.order_by(Message.id)))
