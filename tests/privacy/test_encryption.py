"""Data at rest: texts, answers and notes are sealed with RELAIS_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from bot.cli import main
from bot.config import ConfigError, Settings
from bot.crypto import bind_keys, encrypted_columns
from bot.extensions import relais
from storage.db import Database
from storage.models import Case, CaseEvent, Checkin, Contact, Message
from storage.types import KeyMissingError

from .conftest import CHECKIN_WORDS, NOTE, new_key, person_with_history, raw_dump, raw_values

# Sealed with each person's own data key.
SEALED_COLUMNS = {
    "contacts.display_name",
    "contacts.fields",
    "conversations.state",
    "messages.text",
    "cases.summary",
    "case_events.body",
    "checkins.answers",
}


class Stored(NamedTuple):
    """The person's sealed values, as the application reads them back."""

    display_name: str | None
    fields: dict[str, Any]
    texts: list[str | None]
    summaries: list[str | None]
    notes: list[str | None]
    answers: list[dict[str, Any] | None]


def _read_everything(database: Database, contact_id: int) -> Stored:
    with database.read() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        return Stored(
            contact.display_name,
            contact.fields,
            list(session.scalars(select(Message.text).where(Message.contact_id == contact_id))),
            list(session.scalars(select(Case.summary))),
            list(session.scalars(select(CaseEvent.body))),
            list(session.scalars(select(Checkin.answers))),
        )


def test_the_sealed_columns_are_the_ones_that_hold_what_people_say() -> None:
    # And the people's data keys, sealed by the master keys.
    expected = SEALED_COLUMNS | {"person_keys.sealed"}
    assert {f"{t.name}.{c.name}" for t, c in encrypted_columns()} == expected


def test_with_a_key_raw_rows_hold_no_message_text_note_or_answer_in_clear(
    keyed_app: Flask,
) -> None:
    database = relais(keyed_app).database
    person = person_with_history(relais(keyed_app).conversations)

    dump = raw_dump(database)
    for secret in (*[w for w in person.said if len(w) > 4], NOTE, CHECKIN_WORDS, "Nadia"):
        assert secret not in dump
    for name in SEALED_COLUMNS:
        table, column = name.split(".")
        values = raw_values(database, table, column)
        assert values, f"nothing stored in {name}: the test proves nothing"
        assert all(value.startswith("enc:v2:") for value in values), (name, values)
    assert all(
        value.startswith("enc:v1:") for value in raw_values(database, "person_keys", "sealed")
    )
    # And the application reads it all back.
    stored = _read_everything(database, person.contact_id)
    assert stored.display_name == "Nadia"
    assert stored.fields["postcode"] == "93100"
    assert person.said[6] in stored.texts
    assert any("Nadia" in (summary or "") for summary in stored.summaries)
    assert NOTE in stored.notes
    assert stored.answers == [{"how_lonely": "often", "in_their_words": CHECKIN_WORDS}]


def test_without_a_key_values_are_stored_marked_plain_and_read_back(app: Flask) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)

    texts = raw_values(database, "messages", "text")
    assert all(value.startswith("plain:") for value in texts)
    assert f"plain:{person.said[6]}" in texts
    assert _read_everything(database, person.contact_id).display_name == "Nadia"


def test_after_rotation_rows_sealed_with_the_old_key_stay_readable(
    keyed_app: Flask, key: str
) -> None:
    database = relais(keyed_app).database
    person = person_with_history(relais(keyed_app).conversations)
    before = _read_everything(database, person.contact_id)

    bind_keys((new_key(), key))

    assert _read_everything(database, person.contact_id) == before


def test_reading_sealed_rows_without_any_key_says_the_key_is_missing(keyed_app: Flask) -> None:
    database = relais(keyed_app).database
    person = person_with_history(relais(keyed_app).conversations)

    bind_keys(())

    with pytest.raises(KeyMissingError, match="RELAIS_ENCRYPTION_KEYS is not set"):
        _read_everything(database, person.contact_id)


def test_a_dropped_key_is_named_as_the_reason_rows_cannot_be_read(keyed_app: Flask) -> None:
    database = relais(keyed_app).database
    person = person_with_history(relais(keyed_app).conversations)

    bind_keys((new_key(),))

    with pytest.raises(KeyMissingError, match="reencrypt"):
        _read_everything(database, person.contact_id)


def test_keys_reencrypt_reseals_the_data_keys_so_the_old_master_key_can_go(
    keyed_app: Flask, key: str, database_url: str
) -> None:
    database = relais(keyed_app).database
    person = person_with_history(relais(keyed_app).conversations)
    before = _read_everything(database, person.contact_id)
    texts_before = set(raw_values(database, "messages", "text"))
    keys_before = set(raw_values(database, "person_keys", "sealed"))
    newest = new_key()

    result = CliRunner(
        env={"DATABASE_URL": database_url, "RELAIS_ENCRYPTION_KEYS": f"{newest},{key}"}
    ).invoke(main, ["keys", "reencrypt"])

    assert result.exit_code == 0, result.output
    assert "0 unencrypted value(s) sealed" in result.output
    # The data keys are sealed anew; what they seal is not rewritten.
    keys_after = set(raw_values(database, "person_keys", "sealed"))
    assert keys_after
    assert not keys_after & keys_before
    token = next(iter(keys_after)).removeprefix("enc:v1:")
    Fernet(newest.encode()).decrypt(token.encode())  # the newest key alone opens it
    assert set(raw_values(database, "messages", "text")) == texts_before
    bind_keys((newest,))
    assert _read_everything(database, person.contact_id) == before
    # A second run finds nothing left to do.
    again = CliRunner(env={"DATABASE_URL": database_url, "RELAIS_ENCRYPTION_KEYS": newest}).invoke(
        main, ["keys", "reencrypt"]
    )
    assert "0 unencrypted value(s) sealed, 0 moved to the newest key, 0 put under" in again.output


def test_keys_reencrypt_seals_rows_written_before_any_key_existed(
    app: Flask, database_url: str
) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)
    before = _read_everything(database, person.contact_id)
    key = new_key()

    result = CliRunner(env={"DATABASE_URL": database_url, "RELAIS_ENCRYPTION_KEYS": key}).invoke(
        main, ["keys", "reencrypt"]
    )

    assert result.exit_code == 0, result.output
    assert "moved to the newest key" in result.output
    assert "1 person key(s) made" in result.output
    assert person.said[6] not in raw_dump(database)
    for name in SEALED_COLUMNS:
        table, column = name.split(".")
        assert all(v.startswith("enc:v2:") for v in raw_values(database, table, column)), name
    bind_keys((key,))
    assert _read_everything(database, person.contact_id) == before


def test_keys_reencrypt_without_a_key_says_how_to_make_one(runner: CliRunner) -> None:
    result = runner.invoke(main, ["keys", "reencrypt"])
    assert result.exit_code == 2
    assert "RELAIS_ENCRYPTION_KEYS" in result.output
    assert "relais keys generate" in result.output


def test_keys_generate_prints_a_key_relais_accepts(runner: CliRunner) -> None:
    result = runner.invoke(main, ["keys", "generate"])
    assert result.exit_code == 0
    key = result.output.strip()
    assert Settings.from_env({"RELAIS_ENCRYPTION_KEYS": key}).encryption_keys == (key,)


def test_production_refuses_to_start_without_a_key_and_says_how_to_make_one(
    runner: CliRunner,
) -> None:
    with pytest.raises(ConfigError, match="relais keys generate"):
        Settings.from_env({"RELAIS_ENV": "production"})
    result = runner.invoke(main, ["db", "upgrade"], env={"RELAIS_ENV": "production"})
    assert result.exit_code == 2
    assert "RELAIS_ENCRYPTION_KEYS" in result.output
    assert "relais keys generate" in result.output


def test_production_starts_with_a_key_and_development_without() -> None:
    key = new_key()
    production = Settings.from_env({"RELAIS_ENV": "production", "RELAIS_ENCRYPTION_KEYS": key})
    assert production.environment == "production"
    assert Settings.from_env({}).environment == "development"
    with pytest.raises(ConfigError, match="RELAIS_ENV"):
        Settings.from_env({"RELAIS_ENV": "prod"})
