"""SQL statements per inbound message, counted so the cost cannot creep up unnoticed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from bot import clock
from bot.conversation import ConversationService, InboundMessage
from bot.extensions import relais
from storage.db import Database
from storage.models import Channel

# What the webhook does for someone who wrote before: BEGIN, find the address, look the
# provider id up (a retried webhook), INSERT.
RECEIVE_BUDGET = 4
# What the inbox does with a typical answer in the middle of a flow: lock the person,
# the hooks (safety, flood, commands), the held-case check, the run, its replies.
PROCESS_BUDGET = 18


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
    assert len(received) <= RECEIVE_BUDGET, received
    assert len(processed) <= PROCESS_BUDGET, processed


def test_a_retried_webhook_costs_no_more_than_a_new_one(app: Flask) -> None:
    service: ConversationService = relais(app).conversations
    service.handle(_message("Bonjour", "SM1"))
    with counting(service.database) as statements:
        again = service.receive(_message("Bonjour", "SM1"))
    assert again.duplicate
    assert len(statements) <= RECEIVE_BUDGET
