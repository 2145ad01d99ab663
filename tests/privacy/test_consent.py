"""Consent and minors: without a yes, nothing the person said is kept beyond the run."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from bot.conversation import ConversationService
from bot.extensions import relais
from storage.db import Database
from storage.models import Case, Consent, Contact, Conversation, Direction, Message

from .conftest import say


def _talk(service: ConversationService, *answers: str) -> None:
    for words in answers:
        say(service, words)


def _contact(database: Database) -> Contact:
    with database.read() as session:
        return session.scalars(select(Contact)).one()


def _texts(database: Database, direction: Direction) -> list[str | None]:
    with database.read() as session:
        return list(
            session.scalars(
                select(Message.text).where(Message.direction == direction).order_by(Message.id)
            )
        )


def test_refusing_consent_blanks_what_the_person_wrote_and_keeps_only_the_refusal(
    app: Flask, service: ConversationService
) -> None:
    database = relais(app).database

    _talk(service, "Bonjour, je cherche de l'aide", "1", "non", "non")

    assert _texts(database, Direction.IN) == [None, None, None, None]
    contact = _contact(database)
    assert contact.consent == Consent.REFUSED
    assert contact.fields == {"consent": False}
    assert contact.language == "fr"  # to keep speaking their language if they write again
    with database.read() as session:
        run = session.scalars(select(Conversation)).one()
    assert (run.outcome, run.state) == ("refused", {})
    # Our own replies are untouched: the last ones are still waiting to be sent.
    assert all(_texts(database, Direction.OUT))


def test_refusing_still_lets_the_person_ask_for_someone_to_call(
    app: Flask, service: ConversationService
) -> None:
    database = relais(app).database

    _talk(service, "Bonjour", "1", "non", "oui")

    with database.read() as session:
        case = session.scalars(select(Case)).one()
    assert case.reason == "asked_for_person"
    assert _texts(database, Direction.IN) == [None, None, None, None]


def test_a_person_who_consents_keeps_their_words(app: Flask, service: ConversationService) -> None:
    database = relais(app).database

    _talk(service, "Bonjour", "1", "oui", "4", "Nadia", "6", "Je ne sais plus vers qui aller")

    assert "Je ne sais plus vers qui aller" in _texts(database, Direction.IN)
    assert _contact(database).fields["first_name"] == "Nadia"


def test_under_15_only_the_age_and_the_need_are_collected_and_the_case_asks_joint_consent(
    app: Flask, service: ConversationService
) -> None:
    database = relais(app).database

    _talk(service, "Bonjour", "1", "oui", "1", "Mes parents se disputent tout le temps")

    contact = _contact(database)
    assert contact.fields == {"consent": True, "age_bracket": "under_15"}
    assert contact.display_name is None
    with database.read() as session:
        case = session.scalars(select(Case)).one()
    assert case.reason == "minor"
    assert case.summary is not None
    assert case.summary.startswith("minor: joint consent needed.")
    assert "Mes parents se disputent tout le temps" in case.summary
