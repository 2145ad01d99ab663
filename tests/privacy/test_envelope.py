"""A data key per person: erasure destroys it, so copies left behind no longer open."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text

from bot import checkins, clock, envelope, privacy
from bot.checkins import CHECKIN_FLOW
from bot.cli import main
from bot.config import Settings
from bot.extensions import relais
from bot.reception import InboundMessage
from storage import types
from storage.db import Database
from storage.models import (
    Case,
    Channel,
    CheckinEnrolment,
    Contact,
    ContactAddress,
    Direction,
    Message,
    MessageStatus,
    PersonKey,
)
from tests.test_query_budget import counting

from .conftest import PERSON, Person, person_with_history, raw_values, say

OTHER = "+33639980143"


def _raw_of(database: Database, contact_id: int) -> dict[str, list[str]]:
    """The stored form of everything sealed about one person, as a backup would hold it."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT text FROM messages WHERE contact_id = :id AND text IS NOT NULL"),
            {"id": contact_id},
        )
        texts = [str(value) for (value,) in rows]
        fields = connection.execute(
            text("SELECT fields, display_name FROM contacts WHERE id = :id"), {"id": contact_id}
        ).one()
    return {"messages.text": texts, "contacts": [str(v) for v in fields if v is not None]}


class Two(NamedTuple):
    """Two people who went through first contact, on the keyed app's database."""

    database: Database
    first: Person
    second: Person


@pytest.fixture
def two(keyed_app: Flask) -> Two:
    service = relais(keyed_app).conversations
    return Two(
        relais(keyed_app).database,
        person_with_history(service, PERSON),
        person_with_history(service, OTHER),
    )


@pytest.fixture
def one(keyed_app: Flask) -> tuple[Database, Person]:
    """Someone who went through first contact, on the keyed app's database."""
    return relais(keyed_app).database, person_with_history(relais(keyed_app).conversations)


def _opened(stored: str, database: Database) -> str:
    return types.unseal(stored, database.engine.dialect)


def test_each_person_has_their_own_key_and_their_values_name_it(two: Two) -> None:
    database, first, second = two

    with database.read() as session:
        keys = dict(session.execute(select(Contact.id, Contact.key_id)).tuples().all())
    assert keys[first.contact_id]
    assert keys[second.contact_id]
    assert keys[first.contact_id] != keys[second.contact_id]
    for person in (first, second):
        stored = _raw_of(database, person.contact_id)["messages.text"]
        assert stored
        assert {value.split(":")[2] for value in stored} == {keys[person.contact_id]}


def test_after_erasure_copies_of_their_data_no_longer_open_with_the_live_keys(
    two: Two,
) -> None:
    # What an old row version, a WAL file or a backup holds is the stored form from
    # before the erasure: kept here, then tried again with the keys still in use.
    database, person, other = two
    copy = _raw_of(database, person.contact_id)
    other_copy = _raw_of(database, other.contact_id)
    assert person.said[6] in [_opened(value, database) for value in copy["messages.text"]]

    with database.write() as session:
        privacy.erase_contact(session, person.contact_id, actor="test", now=clock.now())

    for values in copy.values():
        for value in values:
            with pytest.raises(types.KeyErasedError, match="erased"):
                _opened(value, database)
    # Someone else's data is untouched.
    assert other.said[6] in [_opened(v, database) for v in other_copy["messages.text"]]
    with database.read() as session:
        assert session.scalar(select(Contact.key_id).where(Contact.id == person.contact_id)) is None
        assert session.scalar(select(PersonKey).where(PersonKey.id.is_not(None))) is not None


def test_another_process_cannot_open_an_erased_persons_copies_either(
    one: tuple[Database, Person], keyed_settings: Settings
) -> None:
    # A second process (its own memory of keys) after the erasure.
    from bot.app import create_app

    database, person = one
    copy = _raw_of(database, person.contact_id)["messages.text"]
    with database.write() as session:
        privacy.erase_contact(session, person.contact_id, actor="test", now=clock.now())

    later = create_app({"TESTING": True}, settings=keyed_settings)
    try:
        for value in copy:
            with pytest.raises(types.KeyErasedError):
                _opened(value, relais(later).database)
    finally:
        relais(later).database.dispose()


def test_sqlite_files_keep_no_trace_of_an_erased_persons_key(
    keyed_app: Flask, database_url: str, key: str
) -> None:
    database = relais(keyed_app).database
    if not database.is_sqlite:
        pytest.skip("the SQLite file and its WAL (PostgreSQL: VACUUM, run by the same scrub)")
    person = person_with_history(relais(keyed_app).conversations, PERSON)
    (sealed_key,) = raw_values(database, "person_keys", "sealed")
    path = Path(database_url.removeprefix("sqlite:///"))

    def on_disk() -> bytes:
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())

    assert sealed_key.encode() in on_disk()  # the control

    result = CliRunner(env={"DATABASE_URL": database_url, "RELAIS_ENCRYPTION_KEYS": key}).invoke(
        main, ["contacts", "erase", str(person.contact_id), "--yes"]
    )

    assert result.exit_code == 0, result.output
    assert sealed_key.encode() not in on_disk()


def test_the_retention_purge_clears_what_erasures_left_in_the_database_files(
    one: tuple[Database, Person],
) -> None:
    database, person = one
    with database.write() as session:
        privacy.erase_contact(session, person.contact_id, actor="person", now=clock.now())

    # Runs VACUUM on PostgreSQL and a WAL checkpoint on SQLite, without error, each day.
    privacy.purge(
        database,
        clock.now(),
        retention=timedelta(days=730),
        audit_retention=timedelta(days=730),
    )
    assert raw_values(database, "person_keys", "id") == []
    if database.is_postgresql:
        with database.engine.connect() as connection:
            dead = connection.execute(
                text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'person_keys'")
            ).scalar()
        assert not dead


def test_a_known_senders_message_is_stored_sealed_with_their_key_in_one_statement(
    keyed_app: Flask,
) -> None:
    database = relais(keyed_app).database
    service = relais(keyed_app).conversations
    say(service, "Bonjour")  # someone new: their key is made with them
    say(service, "1")

    with counting(database) as statements:
        stored = service.receive(
            InboundMessage(Channel.SMS, PERSON, "oui merci", clock.now(), provider_id="SMk1")
        )

    assert statements == ["INSERT"]
    with database.read() as session:
        key_id = session.scalar(select(Contact.key_id).where(Contact.id == stored.contact_id))
        message = session.get(Message, stored.message_id)
        assert message is not None
        assert message.text == "oui merci"
    (value,) = [
        v for v in raw_values(database, "messages", "text") if _opened(v, database) == "oui merci"
    ]
    assert value.startswith(f"enc:v2:{key_id}:")


def test_a_key_remembered_from_before_an_erasure_never_seals_someone_new(
    keyed_app: Flask,
) -> None:
    # The web process remembers the address's key; the person is erased; someone writes
    # from the same number: a new person, with a new key, whose message opens.
    database = relais(keyed_app).database
    service = relais(keyed_app).conversations
    say(service, "Bonjour")
    say(service, "1")
    with database.read() as session:
        first = session.scalars(select(Contact)).one()
    with database.write() as session:
        privacy.erase_contact(session, first.id, actor="test", now=clock.now())

    stored = service.receive(
        InboundMessage(Channel.SMS, PERSON, "c'est encore moi", clock.now(), provider_id="SMk2")
    )

    assert stored.contact_id != first.id
    with database.read() as session:
        message = session.get(Message, stored.message_id)
        assert message is not None
        assert message.text == "c'est encore moi"
        key_id = session.scalar(select(Contact.key_id).where(Contact.id == stored.contact_id))
    assert key_id is not None
    assert key_id != first.key_id


def test_keys_reencrypt_puts_each_persons_values_under_their_own_key(
    app: Flask, database_url: str, key: str
) -> None:
    # Two people from before any key: each gets a key, and each value goes under the key
    # of the person it is about (a case note through its case, an answer through its
    # enrolment), never a neighbour's.
    database = relais(app).database
    first = person_with_history(relais(app).conversations, PERSON)
    second = person_with_history(relais(app).conversations, OTHER)

    result = CliRunner(env={"DATABASE_URL": database_url, "RELAIS_ENCRYPTION_KEYS": key}).invoke(
        main, ["keys", "reencrypt"]
    )

    assert result.exit_code == 0, result.output
    assert "2 person key(s) made" in result.output
    owned = {
        "messages": "SELECT contact_id, text FROM messages WHERE text IS NOT NULL",
        "cases": "SELECT contact_id, summary FROM cases WHERE summary IS NOT NULL",
        "case_events": "SELECT c.contact_id, e.body FROM case_events e JOIN cases c"
        " ON c.id = e.case_id WHERE e.body IS NOT NULL",
        "checkins": "SELECT n.contact_id, k.answers FROM checkins k JOIN checkin_enrolments n"
        " ON n.id = k.enrolment_id WHERE k.answers IS NOT NULL",
    }
    with database.engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT id, key_id FROM contacts")).tuples().all())
        for name, query in owned.items():
            rows = connection.execute(text(query)).all()
            assert {contact_id for contact_id, _ in rows} == {
                first.contact_id,
                second.contact_id,
            }, name
            for contact_id, stored in rows:
                assert stored.startswith(f"enc:v2:{keys[contact_id]}:"), name


def test_a_text_copied_from_one_persons_row_to_anothers_is_sealed_with_the_new_owners_key(
    two: Two,
) -> None:
    database, first, second = two
    with database.write() as session:
        words = session.scalars(
            select(Message.text).where(Message.contact_id == first.contact_id)
        ).first()
        message = session.scalars(
            select(Message).where(Message.contact_id == first.contact_id)
        ).first()
        case = session.get(Case, second.case_id)
        assert message is not None
        assert case is not None
        case.summary = message.text
        key_id = session.scalar(select(Contact.key_id).where(Contact.id == second.contact_id))

    (stored,) = raw_values_where(
        database, "SELECT summary FROM cases WHERE id = :id", second.case_id
    )
    assert words is not None
    assert stored.startswith(f"enc:v2:{key_id}:")
    assert _opened(stored, database) == message.text


def raw_values_where(database: Database, query: str, row_id: int) -> list[str]:
    with database.engine.connect() as connection:
        return [str(value) for (value,) in connection.execute(text(query), {"id": row_id})]


def test_an_erased_person_stays_readable_and_erasing_again_says_so(
    one: tuple[Database, Person],
) -> None:
    # What erasure leaves (an empty file) is sealed by the master keys, not by the key it
    # deletes: the contact still loads, for their closed cases and a second erasure.
    database, person = one
    with database.write() as session:
        privacy.erase_contact(session, person.contact_id, actor="test", now=clock.now())

    with database.read() as session:
        contact = session.get(Contact, person.contact_id)
        assert contact is not None
        assert contact.fields == {}
        assert contact.key_id is None
    with database.write() as session:
        again = privacy.erase_contact(session, person.contact_id, actor="test", now=clock.now())
    assert again.already_erased


def test_a_checkin_wave_seals_each_question_and_run_with_the_persons_key(
    keyed_app: Flask,
) -> None:
    # The wave writes with bulk inserts, which no flush sees.
    database = relais(keyed_app).database
    service = relais(keyed_app).conversations
    person = person_with_history(service, PERSON)
    with database.write() as session:
        enrolment = session.scalars(select(CheckinEnrolment)).one()
        enrolment.address_id = session.scalars(select(ContactAddress.id)).one()
        enrolment.next_due_at = clock.now() - timedelta(minutes=1)
        session.execute(text("UPDATE conversations SET status = 'completed'"))
        session.execute(text("UPDATE checkins SET week_start = '2026-11-16'"))
        key_id = session.scalar(select(Contact.key_id).where(Contact.id == person.contact_id))

    checkins.tick(service, clock.now())

    with database.engine.connect() as connection:
        question = connection.execute(
            text("SELECT text FROM messages WHERE direction = 'out' ORDER BY id DESC LIMIT 1")
        ).scalar_one()
        run = connection.execute(
            text("SELECT state FROM conversations WHERE flow = :flow ORDER BY id DESC LIMIT 1"),
            {"flow": CHECKIN_FLOW},
        ).scalar_one()
    assert question.startswith(f"enc:v2:{key_id}:")
    assert run.startswith(f"enc:v2:{key_id}:")


def test_a_value_copied_to_someone_without_a_key_is_sealed_by_the_master_keys(
    two: Two,
) -> None:
    # Someone from before keys per person: a text copied to their case from another
    # person's row must not stay under that person's key (their erasure would take it).
    database, first, second = two
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE contacts SET key_id = NULL WHERE id = :id"), {"id": second.contact_id}
        )
    with database.write() as session:
        words = Message(
            contact_id=first.contact_id,
            direction=Direction.OUT,
            channel=Channel.SMS,
            kind="reply",
            text="des mots partagés",
            status=MessageStatus.QUEUED,
            created_at=clock.now(),
        )
        session.add(words)
        session.flush()
        case = session.get(Case, second.case_id)
        assert case is not None
        case.summary = words.text
    with database.write() as session:
        privacy.erase_contact(session, first.contact_id, actor="test", now=clock.now())

    with database.read() as session:
        case = session.get(Case, second.case_id)
        assert case is not None
        assert case.summary == "des mots partagés"


def test_postgresql_pages_keep_no_trace_of_an_erased_persons_key(keyed_app: Flask) -> None:
    database = relais(keyed_app).database
    if not database.is_postgresql:
        pytest.skip("PostgreSQL pages (SQLite: tested above)")
    person_with_history(relais(keyed_app).conversations, OTHER)
    person = person_with_history(relais(keyed_app).conversations, PERSON)
    with database.engine.connect() as connection:
        sealed_key = connection.execute(
            text(
                "SELECT k.sealed FROM person_keys k JOIN contacts c ON c.key_id = k.id"
                " WHERE c.id = :id"
            ),
            {"id": person.contact_id},
        ).scalar_one()
    with database.write() as session:
        privacy.erase_contact(session, person.contact_id, actor="test", now=clock.now())

    envelope.scrub(database)

    with database.engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        connection.commit()
        connection.execute(text("CHECKPOINT"))
        size = connection.execute(text("SELECT pg_relation_size('person_keys')")).scalar_one()
        pages = b"".join(
            bytes(
                connection.execute(
                    text("SELECT get_raw_page('person_keys', CAST(:n AS int))"), {"n": n}
                ).scalar_one()
            )
            for n in range(size // 8192)
        )
    assert sealed_key.encode() not in pages


def test_opening_keys_never_waits_for_the_connection_pool(keyed_app: Flask) -> None:
    # Every thread holds a pooled connection when a value needs a key not opened yet (a
    # process just started): opening it must not need a second pooled connection.
    database = relais(keyed_app).database
    if not database.is_postgresql:
        pytest.skip("the PostgreSQL pool (SQLite's is per thread)")
    person_with_history(relais(keyed_app).conversations, PERSON)
    envelope.clear_cache()
    threads = 15  # the pool's size and overflow
    together = threading.Barrier(threads)
    errors: list[str] = []

    def read() -> None:
        try:
            with database.read() as session:
                session.execute(text("SELECT 1"))
                together.wait(timeout=20)
                session.scalars(select(Message.text).where(Message.text.is_not(None))).first()
        except Exception as error:
            errors.append(repr(error)[:200])

    workers = [threading.Thread(target=read) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []
