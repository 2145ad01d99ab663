"""Encryption at rest: the keyring from RELAIS_ENCRYPTION_KEYS, and re-encryption.

The on-disk format belongs to storage.types (`enc:v1:<Fernet token>` or `plain:<text>`);
this module supplies the keys. `bind_keys` is called once a process knows its settings
(create_app, the `relais` command); the first key seals new values, every key opens old
ones, so a new key can be put first while rows sealed with the old one stay readable.
`reencrypt` then rewrites every value with the newest key, after which the old key may go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Table, Text, select, type_coerce, update

from storage import types
from storage.db import Database
from storage.models import Base

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
    """Seal with `keys` in this process from now on; no keys means values stay plain."""
    keyring = Keyring(keys) if keys else None
    types.bind_cipher(keyring)
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

    @property
    def total(self) -> int:
        return sum(self.sealed.values()) + sum(self.rotated.values())


def reencrypt(database: Database, keyring: Keyring) -> Reencrypted:
    """Seal plain values and move older tokens to the newest key, column by column.

    Works on the raw column text, below the ORM, and writes each value back only if it
    is unchanged since it was read: a row updated meanwhile was sealed by its writer.
    Safe to run while Relais runs, and again after an interruption.
    """
    report = Reencrypted()
    for table, column in encrypted_columns():
        name = f"{table.name}.{column.name}"
        sealed, rotated = _reencrypt_column(database, keyring, table, column)
        report.sealed[name], report.rotated[name] = sealed, rotated
        if sealed or rotated:
            log.info("%s: %d value(s) sealed, %d rotated to the newest key", name, sealed, rotated)
    return report


def _reencrypt_column(
    database: Database, keyring: Keyring, table: Table, column: Column[object]
) -> tuple[int, int]:
    # Coerced to plain text: the column's own type would open values on the way out and
    # seal them again on the way in; here the stored form itself is read and written.
    stored_form = type_coerce(column, Text())
    row_id = table.c.id
    sealed = rotated = 0
    after = 0
    while True:
        with database.write() as session:
            rows = session.execute(
                select(row_id, stored_form)
                .where(row_id > after, column.is_not(None))
                .order_by(row_id)
                .limit(BATCH_SIZE)
            ).all()
            for key, stored in rows:
                new = _upgraded(keyring, stored)
                if new is None:
                    continue
                session.execute(
                    update(table)
                    .where(row_id == key, stored_form == type_coerce(stored, Text()))
                    .values({column.name: type_coerce(new, Text())})
                )
                if stored.startswith(types.PLAIN_PREFIX):
                    sealed += 1
                else:
                    rotated += 1
        if len(rows) < BATCH_SIZE:
            return sealed, rotated
        after = rows[-1][0]


def _upgraded(keyring: Keyring, stored: str) -> str | None:
    """The value sealed with the newest key, or None when it already is."""
    if stored.startswith(types.PLAIN_PREFIX):
        plaintext = stored[len(types.PLAIN_PREFIX) :].encode("utf-8")
        return types.SEALED_PREFIX + keyring.encrypt(plaintext).decode("ascii")
    if not stored.startswith(types.SEALED_PREFIX):
        raise ValueError("a value without the enc:v1: or plain: marker; not written by Relais")
    token = stored[len(types.SEALED_PREFIX) :].encode("ascii")
    if keyring.is_newest(token):
        return None
    try:
        return types.SEALED_PREFIX + keyring.rotate(token).decode("ascii")
    except InvalidToken:
        raise types.KeyMissingError(
            "a stored value opens with none of RELAIS_ENCRYPTION_KEYS; put back the key it "
            "was sealed with (after the new one) and run again"
        ) from None
