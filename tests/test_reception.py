"""Reception: what a webhook stores, and the rare paths around it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy.exc
from flask import Flask, request
from sqlalchemy import func, select, update

from bot import clock
from bot.extensions import relais
from bot.reception import InboundMessage, Reception
from storage.db import Database
from storage.models import Channel, Contact, Message
from tests.test_query_budget import counting

CHAT = "639980321"


def _telegram(text: str, update_id: int, hint: str | None) -> InboundMessage:
    return InboundMessage(
        Channel.TELEGRAM, CHAT, text, clock.now(), provider_id=str(update_id), language_hint=hint
    )


@pytest.fixture
def reception(app: Flask) -> Reception:
    return relais(app).reception


def _hint(database: Database) -> str | None:
    with database.read() as session:
        return session.scalars(select(Contact.language_hint)).one()


def test_telegram_tells_the_language_once_and_it_costs_one_more_statement(
    reception: Reception,
) -> None:
    database = reception.database
    reception.receive(_telegram("Bonjour", 1, None))  # the app said nothing the first time
    assert _hint(database) is None

    with counting(database) as statements:
        reception.receive(_telegram("Salut", 2, "uk"))
    assert statements == ["INSERT", "UPDATE"]
    assert _hint(database) == "uk"

    reception.receive(_telegram("Привіт", 3, "ar"))  # a later hint does not replace it
    assert _hint(database) == "uk"


def test_a_language_hint_never_comes_back_to_someone_erased(reception: Reception) -> None:
    database = reception.database
    reception.receive(_telegram("Bonjour", 1, None))
    # Erasure committed between the store and the hint (the address still there, as it is
    # for the instant between the two statements).
    with database.write() as session:
        session.execute(update(Contact).values(erased_at=clock.now(), language_hint=None))
    reception.receive(_telegram("Salut", 2, "uk"))
    assert _hint(database) is None


def test_a_message_refused_by_a_foreign_key_is_stored_for_someone_new(
    reception: Reception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person was erased while their message was being stored (PostgreSQL, READ
    COMMITTED): the statement's foreign key check fails. The message is not dropped."""
    database = reception.database
    reception.receive(_telegram("Bonjour", 1, None))
    real = database.execute_alone
    calls: list[int] = []

    def erased_meanwhile(statement: Any, values: Any, **options: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("foreign key"))
        return real(statement, values, **options)

    monkeypatch.setattr(database, "execute_alone", erased_meanwhile)
    stored = reception.receive(_telegram("Salut", 2, None))
    assert stored.message_id is not None
    assert not stored.duplicate
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_webhooks_and_health_probes_get_no_session(app: Flask) -> None:
    interface = app.session_interface
    for path in ("/webhooks/twilio", "/webhooks/telegram", "/healthz"):
        with app.test_request_context(path, method="POST"):
            assert interface.open_session(app, request) is None, path
    with app.test_request_context("/login"):
        assert interface.open_session(app, request) is not None
