"""Encryption at rest: the keyring from RELAIS_ENCRYPTION_KEYS, and re-encryption.

The on-disk format belongs to storage.types (`enc:v2:<key id>:<token>` under a person's
data key, `enc:v1:<token>` under the master keys, or `plain:<text>`); this module
supplies the master keys, bot.envelope the people's keys. `bind_keys` is called once a
process knows its settings (create_app, the `relais` command); the first key seals new
values, every key opens old ones, so a new key can be put first while rows sealed with
the old one stay readable.
`reencrypt` then rewrites every value with the newest key, after which the old key may go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Table, Text, null, select, type_coerce, update
from sqlalchemy.orm import Session

from bot import envelope
from storage import types
from storage.db import Database
from storage.models import Base, Contact, PersonKey

log = logging.getLogger(__name__)

# Rows read and rewritten per transaction: small enough not to hold locks for long.
BATCH_SIZE = 500


def generate_key() -> str:
    """A new random key, in the form RELAIS_ENCRYPTION_KEYS expects."""
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """MultiFernet over the configured keys, with errors that say what to do."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._newest = Fernet(keys[0].encode("ascii"))
        self._all = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    def encrypt(self, msg: bytes) -> bytes:
        return self._all.encrypt(msg)

    def decrypt(self, msg: bytes | str, ttl: int | None = None) -> bytes:
        try:
            return self._all.decrypt(msg, ttl)
        except InvalidToken:
            raise types.KeyMissingError(
                "no key in RELAIS_ENCRYPTION_KEYS opens a stored value: was a key removed "
                "before `relais keys reencrypt` ran?"
            ) from None

    def is_newest(self, token: bytes) -> bool:
        """Whether `token` was sealed with the first key (nothing to re-encrypt)."""
        try:
            self._newest.decrypt(token)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """The same content sealed with the first key."""
        return self._all.rotate(token)


def bind_keys(keys: Sequence[str]) -> Keyring | None:
    """Seal with `keys` in this process from now on; no keys means values stay plain.

    People's data keys are opened through these keys: those opened before are forgotten.
    """
    keyring = Keyring(keys) if keys else None
    types.bind_cipher(keyring, envelope.open_key if keyring is not None else None)
    envelope.clear_cache()
    return keyring


def encrypted_columns() -> Iterator[tuple[Table, Column[object]]]:
    """Every column of the schema whose values are sealed at rest."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, types.EncryptedText | types.EncryptedJSON):
                yield table, column


@dataclass
class Reencrypted:
    """What `reencrypt` changed, per `table.column`."""

    sealed: dict[str, int] = field(default_factory=dict)  # plain values now encrypted
    rotated: dict[str, int] = field(default_factory=dict)  # tokens moved to the newest key
    # Values moved from the master keys to their person's own key.
    personal: dict[str, int] = field(default_factory=dict)
    keys_given: int = 0  # people known from before keys per person, given one

    @property
    def total(self) -> int:
        return sum(self.sealed.values()) + sum(self.rotated.values()) + sum(self.personal.values())


def reencrypt(database: Database, keyring: Keyring) -> Reencrypted:
    """Seal plain values, move older tokens to the newest key, and put what is about a
    person under their own data key, column by column.

    Works on the raw column text, below the ORM, and writes each value back only if it
    is unchanged since it was read: a row updated meanwhile was sealed by its writer.
    Values already under a person's key stay as they are (their data key is re-sealed
    instead, in person_keys). Safe to run while Relais runs, and again after an
    interruption.
    """
    report = Reencrypted(keys_given=_give_keys(database))
    for table, column in encrypted_columns():
        name = f"{table.name}.{column.name}"
        counts = _reencrypt_column(database, keyring, table, column)
        report.sealed[name], report.rotated[name], report.personal[name] = counts
        if any(counts):
            log.info(
                "%s: %d value(s) sealed, %d rotated to the newest key, %d under a person's key",
                name,
                *counts,
            )
    return report


def _give_keys(database: Database) -> int:
    """A data key for everyone known from before keys per person (not the erased)."""
    given = 0
    while True:
        with database.write() as session:
            people = session.scalars(
                select(Contact)
                .where(Contact.key_id.is_(None), Contact.erased_at.is_(None))
                .order_by(Contact.id)
                .limit(BATCH_SIZE)
                .with_for_update(skip_locked=True)
            ).all()
            for person in people:
                person.key = envelope.new_key(session)
            given += len(people)
        if len(people) < BATCH_SIZE:
            return given


def _reencrypt_column(
    database: Database, keyring: Keyring, table: Table, column: Column[object]
) -> tuple[int, int, int]:
    # Coerced to plain text: the column's own type would open values on the way out and
    # seal them again on the way in; here the stored form itself is read and written.
    stored_form = type_coerce(column, Text())
    row_id = table.c.id
    owner_key = envelope.owner_key_sql(table)
    owner = owner_key if owner_key is not None else null()
    sealed = rotated = personal = 0
    after: object = None
    while True:
        with database.write() as session:
            query = select(row_id, stored_form, owner).where(column.is_not(None))
            if after is not None:
                query = query.where(row_id > after)
            rows = session.execute(query.order_by(row_id).limit(BATCH_SIZE)).all()
            keys = _data_keys(session, {key_id for _id, _stored, key_id in rows if key_id})
            for key, stored, key_id in rows:
                new = _upgraded(keyring, stored, keys.get(key_id))
                if new is None:
                    continue
                session.execute(
                    update(table)
                    .where(row_id == key, stored_form == type_coerce(stored, Text()))
                    .values({column.name: type_coerce(new, Text())})
                )
                if new.startswith(types.PERSONAL_PREFIX):
                    personal += 1
                elif stored.startswith(types.PLAIN_PREFIX):
                    sealed += 1
                else:
                    rotated += 1
        if len(rows) < BATCH_SIZE:
            return sealed, rotated, personal
        after = rows[-1][0]


def _data_keys(session: Session, key_ids: set[str]) -> dict[str, envelope.DataKey]:
    if not key_ids:
        return {}
    found = session.execute(select(PersonKey.id, PersonKey.sealed).where(PersonKey.id.in_(key_ids)))
    return {key_id: envelope.opened(key_id, material) for key_id, material in found}


def _upgraded(keyring: Keyring, stored: str, data_key: envelope.DataKey | None) -> str | None:
    """The value sealed as it should be now, or None when it already is: with the
    person's key when it is about someone who has one, else with the newest master key."""
    if stored.startswith(types.PERSONAL_PREFIX):
        return None  # the data key is re-sealed, not the value
    if stored.startswith(types.PLAIN_PREFIX):
        plaintext = stored[len(types.PLAIN_PREFIX) :]
        if data_key is not None:
            return types.seal(plaintext, data_key)
        return types.SEALED_PREFIX + keyring.encrypt(plaintext.encode("utf-8")).decode("ascii")
    if not stored.startswith(types.SEALED_PREFIX):
        raise ValueError("a value without the enc:v1: or plain: marker; not written by Relais")
    token = stored[len(types.SEALED_PREFIX) :].encode("ascii")
    try:
        if data_key is not None:
            return types.seal(keyring.decrypt(token).decode("utf-8"), data_key)
        if keyring.is_newest(token):
            return None
        return types.SEALED_PREFIX + keyring.rotate(token).decode("ascii")
    except (InvalidToken, types.KeyMissingError):
        raise types.KeyMissingError(
            "a stored value opens with none of RELAIS_ENCRYPTION_KEYS; put back the key it "
            "was sealed with (after the new one) and run again"
        ) from None
