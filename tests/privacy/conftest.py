"""Fixtures for the data-protection tests: keys, a person who talked, raw table dumps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select, text

from bot import clock
from bot.config import Settings
from bot.conversation import ConversationService
from bot.crypto import bind_keys
from bot.extensions import relais
from bot.reception import InboundMessage
from storage.db import Database
from storage.models import (
    Base,
    Case,
    CaseEvent,
    Channel,
    Checkin,
    CheckinEnrolment,
    CheckinStatus,
    Contact,
)
from tests.conftest import FrozenClock

PERSON = "+33639980142"
# A whole first contact in French, family situation, with words of the person's own.
FAMILY_ANSWERS = (
    "Bonjour",
    "1",
    "oui",
    "4",
    "Nadia",
    "2",
    "Je suis seule avec deux enfants et mon fils ne va plus au college",
    "93100",
    "2",
    "4",
)
NOTE = "Appelee mardi, elle craint une expulsion avant l'hiver"
CHECKIN_WORDS = "je me sens tres isolee depuis le depart de ma soeur"


@pytest.fixture(autouse=True)
def _stopped_clock(frozen_clock: FrozenClock) -> FrozenClock:
    """Dates in exports and erasures compare exactly."""
    return frozen_clock


@pytest.fixture(autouse=True)
def _unbind_keys() -> Iterator[None]:
    """Keys are process-wide: leave none bound for the next test."""
    yield
    bind_keys(())


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def keyed_settings(settings: Settings, key: str) -> Settings:
    return settings.with_overrides({"encryption_keys": (key,)})


@pytest.fixture
def keyed_app(keyed_settings: Settings) -> Iterator[Flask]:
    """The app with RELAIS_ENCRYPTION_KEYS set (create_app binds the key)."""
    from bot.app import create_app

    application = create_app({"TESTING": True}, settings=keyed_settings)
    yield application
    relais(application).database.dispose()


@pytest.fixture
def service(app: Flask) -> ConversationService:
    return relais(app).conversations


def say(service: ConversationService, words: str, address: str = PERSON) -> None:
    service.handle(InboundMessage(Channel.SMS, address, words, clock.now()))


@dataclass(frozen=True)
class Person:
    """Someone who went through first contact, with a note and a check-in answer."""

    contact_id: int
    case_id: int
    said: tuple[str, ...]


def person_with_history(service: ConversationService, address: str = PERSON) -> Person:
    """Run the family first contact, then add a worker's note and a check-in answer."""
    for words in FAMILY_ANSWERS:
        say(service, words, address)
    now = clock.now()
    with service.database.write() as session:
        contact = session.scalars(select(Contact).order_by(Contact.id.desc())).first()
        assert contact is not None
        case = session.scalars(select(Case).where(Case.contact_id == contact.id)).one()
        case.events.append(CaseEvent(kind="note", body=NOTE, created_at=now))
        enrolment = CheckinEnrolment(
            contact_id=contact.id,
            channel=Channel.SMS,
            language="fr",
            timezone="Europe/Paris",
            weekday=0,
            minute_of_day=600,
            created_at=now,
            updated_at=now,
        )
        session.add(enrolment)
        session.flush()
        session.add(
            Checkin(
                enrolment_id=enrolment.id,
                week_start=date(2026, 11, 23),
                status=CheckinStatus.ANSWERED,
                due_at=now,
                answers={"how_lonely": "often", "in_their_words": CHECKIN_WORDS},
            )
        )
        return Person(contact.id, case.id, FAMILY_ANSWERS)


def raw_dump(database: Database) -> str:
    """Every value of every column of every table, read with plain SQL (no ORM types)."""
    parts: list[str] = []
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f'SELECT * FROM "{table.name}"')):  # noqa: S608
                parts.extend(_as_text(value) for value in row)
    return "\n".join(parts)


def raw_values(database: Database, table: str, column: str) -> list[str]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')  # noqa: S608
        )
        return [str(value) for (value,) in rows]


def _as_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)
