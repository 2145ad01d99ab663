"""A database that blinks loses and doubles nothing (issue 13, points 1 and 2).

The connection is closed under SQLAlchemy's feet at a chosen statement, on SQLite and on
PostgreSQL alike; tests/test_connection_kill.py does it for real, to a running server.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import DBAPIError

from bot import clock
from bot.app import create_app
from bot.channels.base import Outbound, RateLimit, Sent
from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.extensions import relais
from bot.inbox import Inbox
from bot.reception import InboundMessage, Reception
from storage.db import Database
from storage.models import Channel, Contact, ContactAddress, Direction, Message, OutboxItem
from tests.channels.test_twilio_webhook import post_signed
from tests.fakes.twilio import inbound_params, settings_overrides
from tests.support.blink import connection_lost

PERSON = "+33639980171"


def _count(db: Database, *where: ColumnElement[bool]) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Message).where(*where)) or 0


@pytest.mark.parametrize("moment", ["INSERT INTO contact_addresses", "INTO messages", "COMMIT"])
def test_a_first_message_is_stored_once_when_the_connection_drops(
    settings: Settings, moment: str
) -> None:
    app = create_app({"TESTING": True}, settings=settings.with_overrides(settings_overrides()))
    db = relais(app).database
    try:
        client = app.test_client()
        params = inbound_params("Bonjour", from_=PERSON, sid="SM" + "7" * 32)
        with connection_lost(db.engine, before=moment) as broken:
            response = post_signed(client, "/webhooks/twilio", params)
        assert broken  # the connection was lost while the first message was stored
        assert response.status_code == 200
        assert _count(db, Message.direction == Direction.IN) == 1
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(Contact)) == 1
        # The person got their first reply: the message was not only stored but handled.
        assert _count(db, Message.direction == Direction.OUT) >= 1
    finally:
        db.dispose()


def test_without_a_provider_id_a_commit_lost_is_not_replayed(db: Database) -> None:
    # The terminal and the simulator give no provider id: storing twice could double the
    # message, so a connection lost during COMMIT is an error the caller sees.
    reception = Reception(db)
    message = InboundMessage(Channel.SMS, PERSON, "Bonjour", clock.now())
    with connection_lost(db.engine, before="COMMIT"), pytest.raises(DBAPIError):
        reception.receive(message)
    assert _count(db) == 0  # the connection closed before COMMIT: nothing was stored


class Recording:
    channels: tuple[Channel, ...] = (Channel.SMS,)
    longest_send = 0.0

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def rate_limit(self, channel: Channel) -> RateLimit:
        return RateLimit(per_second=1000.0)

    def send(self, outbound: Outbound) -> Sent:
        self.sent.append(outbound)
        return Sent(provider_id=f"SM{len(self.sent):032d}")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("moment", ["DELETE FROM outbox", "UPDATE messages", "COMMIT"])
def test_a_message_the_provider_took_is_recorded_sent_and_never_sent_again(
    db: Database, app: Flask, moment: str
) -> None:
    reception = Reception(db)
    reception.receive(
        InboundMessage(Channel.SMS, PERSON, "Bonjour", clock.now(), provider_id="SM" + "1" * 32)
    )
    Inbox(relais(app).conversations).run_once()
    with db.read() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxItem)) or 0
    assert queued >= 1
    adapter = Recording()
    dispatcher = Dispatcher(db, [adapter], worker_id="blink", sleep=lambda _s: None)
    try:
        with connection_lost(db.engine, before=moment) as broken:
            while dispatcher.run_once():
                pass
        assert broken
        # Long after any lease would have ended, nothing is sent again.
        later = clock.now() + dispatcher.lease * 10
        while dispatcher.run_once(later):
            pass
    finally:
        dispatcher.close()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        statuses = session.scalars(
            select(Message.status).where(Message.direction == Direction.OUT)
        ).all()
        address = session.scalars(select(ContactAddress)).one()
    assert set(statuses) == {"sent"}
    assert len(adapter.sent) == len(statuses) == queued
    assert {outbound.address for outbound in adapter.sent} == {address.address}


def test_a_blink_while_processing_is_not_counted_as_a_failure(db: Database, app: Flask) -> None:
    reception = Reception(db)
    inbox = Inbox(relais(app).conversations, retry_after=0.0)
    for n in range(3):
        reception.receive(
            InboundMessage(Channel.SMS, PERSON, "Bonjour", clock.now(), provider_id=f"SM{n:032d}")
        )
    try:
        # The first message's processing loses its connection three times in a row: it
        # is still answered, not handed to a worker as "could not be handled".
        for _ in range(3):
            with connection_lost(db.engine, before="UPDATE messages"):
                inbox.run_once()
        while inbox.run_once():
            pass
    finally:
        inbox.close()
    with db.read() as session:
        statuses = session.scalars(
            select(Message.status).where(Message.direction == Direction.IN)
        ).all()
    assert set(statuses) == {"handled"}
