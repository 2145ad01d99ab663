"""Column types shared by the models."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no timezone type and hands back naive values; storing naive UTC and
    re-attaching UTC on the way out keeps comparisons in Python honest everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use bot.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- Encryption at rest ----------------------------------------------------------------
#
# On disk, every value of an encrypted column is one of:
#
#   enc:v2:<key id>:<Fernet token>   sealed with one person's data key (envelope)
#   enc:v1:<Fernet token>            sealed with the master keys (RELAIS_ENCRYPTION_KEYS)
#   plain:<text>                     written while no key was configured (development)
#
# A person's data key is itself stored sealed with the master keys (table person_keys);
# erasing the person deletes it, so copies of their values left in old pages, WAL files
# and backups no longer open. Which key a value belongs to is decided by bot.envelope when
# a session flushes: it hands the column an `Owned` value that carries the key. Values
# without an owner (none known yet, or not about a person) are sealed with the master
# keys. The `plain:` marker means a row written before keys existed is told apart from a
# token without guessing, and `relais keys reencrypt` can seal it later. JSON columns
# store the JSON text behind the same prefixes. The keys themselves are process
# configuration: bot.crypto binds them here at start-up (app, CLI, worker); nothing is
# read from the environment at import time.

PERSONAL_PREFIX = "enc:v2:"
SEALED_PREFIX = "enc:v1:"
PLAIN_PREFIX = "plain:"


class Cipher(Protocol):
    """What sealing needs from a keyring; cryptography's MultiFernet is one."""

    def encrypt(self, msg: bytes) -> bytes: ...

    def decrypt(self, msg: bytes | str, ttl: int | None = None) -> bytes: ...


class DataKey(Protocol):
    """One person's key: its id (written in each value) and the cipher it opens."""

    @property
    def id(self) -> str: ...

    @property
    def cipher(self) -> Cipher: ...


class KeyMissingError(RuntimeError):
    """An encrypted value was read, or must be written, without a key configured."""


class KeyErasedError(KeyMissingError):
    """The value belongs to a person whose data key was destroyed by their erasure."""


class Owned(str):
    """Text to seal with its owner's data key (see bot.envelope)."""

    data_key: DataKey

    def __new__(cls, text: str, data_key: DataKey) -> Owned:
        value = super().__new__(cls, text)
        value.data_key = data_key
        return value


class OwnedDocument(dict[str, Any]):
    """A JSON document to seal with its owner's data key."""

    def __init__(self, document: dict[str, Any], data_key: DataKey) -> None:
        super().__init__(document)
        self.data_key = data_key


# Given the dialect of the engine a value was read through and a key id, the cipher of
# that data key: bound by bot.envelope, which knows where keys are kept.
KeyOpener = Callable[[Dialect, str], Cipher]

_cipher: Cipher | None = None
_opener: KeyOpener | None = None


def bind_cipher(cipher: Cipher | None, opener: KeyOpener | None = None) -> None:
    """Seal new values with `cipher` from now on (None: store them as `plain:`)."""
    global _cipher, _opener
    _cipher, _opener = cipher, opener


def bound_cipher() -> Cipher | None:
    """The cipher values are sealed with, if any."""
    return _cipher


def seal(text: str, data_key: DataKey | None = None) -> str:
    """The on-disk form of `text`: a token when a key is bound, else marked plain."""
    if data_key is not None:
        token = data_key.cipher.encrypt(text.encode("utf-8")).decode("ascii")
        return f"{PERSONAL_PREFIX}{data_key.id}:{token}"
    if _cipher is None:
        return PLAIN_PREFIX + text
    return SEALED_PREFIX + _cipher.encrypt(text.encode("utf-8")).decode("ascii")


def unseal(stored: str, dialect: Dialect | None = None) -> str:
    """The text behind an on-disk value written by `seal`."""
    if stored.startswith(PERSONAL_PREFIX):
        key_id, _, token = stored[len(PERSONAL_PREFIX) :].partition(":")
        if _opener is None or dialect is None:
            raise KeyMissingError(
                "the database holds encrypted data but RELAIS_ENCRYPTION_KEYS is not set"
            )
        return _opener(dialect, key_id).decrypt(token.encode("ascii")).decode("utf-8")
    if stored.startswith(SEALED_PREFIX):
        if _cipher is None:
            raise KeyMissingError(
                "the database holds encrypted data but RELAIS_ENCRYPTION_KEYS is not set"
            )
        return _cipher.decrypt(stored[len(SEALED_PREFIX) :].encode("ascii")).decode("utf-8")
    if stored.startswith(PLAIN_PREFIX):
        return stored[len(PLAIN_PREFIX) :]
    # Never guess: a value without a marker was not written by Relais.
    raise ValueError(
        "an encrypted column holds a value without the enc:v2:, enc:v1: or plain: marker"
    )


class EncryptedText(TypeDecorator[str]):
    """A text column sealed at rest; it cannot be searched or sorted in SQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return seal(value, value.data_key if isinstance(value, Owned) else None)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(value, dialect)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document sealed at rest; SQL sees only text (no JSON operators on it)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return seal(text, value.data_key if isinstance(value, OwnedDocument) else None)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(unseal(value, dialect))
