"""SQL statements per inbound message, counted so the cost cannot creep up unnoticed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import event, select

from bot import clock
from bot.conversation import ConversationService
from bot.crypto import bind_keys
from bot.extensions import relais
from bot.reception import InboundMessage
from storage.db import Database
from storage.models import Channel, Message

# What the webhook does for someone who wrote before: one INSERT … SELECT, its own
# transaction (no BEGIN, no COMMIT round trip).
RECEIVE_STATEMENTS = ["INSERT"]
# A retried webhook (rare): that INSERT stores nothing, then one transaction finds the
# address and tries again, to tell a retry from a first message stored meanwhile.
RETRIED_BUDGET = 5
# What the inbox does with a typical answer in the middle of a flow: lock the person,
# the hooks (safety, flood, commands, a danger case waiting for a worker), the held-case
# check, the run, its replies.
PROCESS_BUDGET = 19
# With a data key per person (bot.envelope): finding the key, once per transaction.
KEY_LOOKUPS = 1


@contextmanager
def counting(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _message(text: str, sid: str) -> InboundMessage:
    return InboundMessage(Channel.SMS, "+33639980777", text, clock.now(), provider_id=sid)


def test_an_inbound_message_stays_within_its_query_budget(app: Flask) -> None:
    service: ConversationService = relais(app).conversations
    database = service.database
    # First contact up to the age question: language, then consent.
    for n, text in enumerate(["Bonjour", "1", "oui"]):
        service.handle(_message(text, f"SM{n}"))

    with counting(database) as received:
        stored = service.receive(_message("4", "SM9"))  # an age bracket: one reply
    assert stored.message_id is not None
    with counting(database) as processed:
        handled = service.process(stored.message_id)

    assert handled.replies  # it really went through the flow
    assert received == RECEIVE_STATEMENTS
    assert len(processed) <= PROCESS_BUDGET, processed


def test_a_retried_webhook_costs_a_few_statements_and_changes_nothing(app: Flask) -> None:
    service: ConversationService = relais(app).conversations
    service.handle(_message("Bonjour", "SM1"))
    with counting(service.database) as statements:
        again = service.receive(_message("Bonjour", "SM1"))
    assert again.duplicate
    assert statements.count("INSERT") == 2  # the fast try, then the one that tells
    assert len(statements) <= RETRIED_BUDGET, statements
    with service.database.read() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).all()
    assert [message.provider_id for message in inbound] == ["SM1"]


def test_with_a_data_key_per_person_the_budget_holds(app: Flask) -> None:
    # In production everything is sealed with the person's key: finding it costs at most
    # one statement per transaction that writes about them, not one per flush.
    bind_keys((Fernet.generate_key().decode(),))
    try:
        service: ConversationService = relais(app).conversations
        for n, text in enumerate(["Bonjour", "1", "oui"]):
            service.handle(_message(text, f"SM{n}"))
        with counting(service.database) as received:
            stored = service.receive(_message("4", "SM9"))
        assert stored.message_id is not None
        with counting(service.database) as processed:
            handled = service.process(stored.message_id)
    finally:
        bind_keys(())

    assert handled.replies
    assert received == RECEIVE_STATEMENTS
    assert len(processed) <= PROCESS_BUDGET + KEY_LOOKUPS, processed
