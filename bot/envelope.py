"""Envelope encryption: each person's data is sealed with a key of their own.

A person's data key (table person_keys) is a random Fernet key, stored sealed by the
master keys of RELAIS_ENCRYPTION_KEYS. What is sealed about the person (their name and
fields, conversation state, message texts, case summaries and notes, check-in answers)
is sealed with it: `enc:v2:<key id>:<token>`. Erasing the person deletes their key, so
the copies of their data that no erasure can reach (old row versions, WAL files,
backups) no longer open with the live master keys. Rotating the master keys re-seals the
data keys, not every row.

Which key seals a value is decided when a session flushes (`before_flush`): every
changed sealed attribute of a row about a person is handed to its column as an `Owned`
value carrying that person's key. Reading needs no context: the value names its key,
which is loaded from the database the value came from (on the thread's own connection,
outside the session) and kept in a bounded cache.

With no master key configured nothing is sealed (`plain:` values), and nobody gets a
key. People created before keys per person existed get theirs from `relais keys
reencrypt`, which also moves their values under it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from cryptography.fernet import Fernet
from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Table,
    delete,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from bot import clock
from storage import types
from storage.db import Database, database_of
from storage.models import Base, Case, CaseEvent, Checkin, CheckinEnrolment, Contact, PersonKey

log = logging.getLogger(__name__)

# Opened data keys kept in memory: a key is 32 bytes and a Fernet object, so ten thousand
# people cost about 5 MiB, and a busy queue page opens each key once.
CACHE_SIZE = 10_000
KEY_MEMORY = 600.0  # seconds

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class DataKey:
    """One person's key, opened: its id (written in each value) and its cipher."""

    id: str
    cipher: Fernet


class Remembered(Generic[K, V]):
    """A bounded map, least recently used first out, shared by a process's threads; with
    `ttl`, an entry is forgotten that many seconds after it was put."""

    def __init__(self, size: int, ttl: float | None = None) -> None:
        self._size = size
        self._ttl = ttl
        self._items: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            value, stamp = item
            if self._ttl is not None and time.monotonic() - stamp > self._ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = (value, time.monotonic())
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# Opened keys by id. Ids are random and never reused, so a key found here is the right
# one whichever database it came from.
# Kept KEY_MEMORY seconds at most: another process's erasure deletes the key from the
# database, and a process that had opened it forgets it within that time.
_cache: Remembered[str, DataKey] = Remembered(CACHE_SIZE, ttl=KEY_MEMORY)


def enabled() -> bool:
    """Whether values are sealed at all (a master key is configured)."""
    return types.bound_cipher() is not None


def _generate() -> tuple[str, str]:
    key_id, material = secrets.token_hex(16), Fernet.generate_key().decode("ascii")
    _cache.put(key_id, DataKey(key_id, Fernet(material)))
    return key_id, material


def new_key(session: Session) -> PersonKey:
    """A new data key, added to `session`; it is sealed by the master keys on flush."""
    key_id, material = _generate()
    row = PersonKey(id=key_id, sealed=material, created_at=clock.now())
    session.add(row)
    return row


def add_key(connection: Connection, statement: Executable) -> str | None:
    """A new data key stored with `statement` (Core, no flush); its id, or None when
    nothing is sealed (no master key)."""
    if not enabled():
        return None
    key_id, material = _generate()
    connection.execute(statement, {"id": key_id, "sealed": material, "created_at": clock.now()})
    return key_id


def opened(key_id: str, material: str) -> DataKey:
    """The data key `key_id` whose material (already unsealed) is `material`."""
    key = _cache.get(key_id)
    if key is None:
        key = DataKey(key_id, Fernet(material.encode("ascii")))
        _cache.put(key_id, key)
    return key


def open_key(dialect: Dialect, key_id: str) -> Fernet:
    """The cipher of data key `key_id`, for a value read through `dialect`'s engine."""
    key = _cache.get(key_id)
    if key is not None:
        return key.cipher
    database = database_of(dialect)
    if database is None:
        raise types.KeyMissingError("a sealed value was read outside any open database")
    # Not on a pooled connection: the reader may hold one already, and every thread
    # doing so while waiting for a second would empty the pool for good.
    rows = database.execute_unpooled(select(PersonKey.sealed).where(PersonKey.id == key_id))
    if not rows:
        raise types.KeyErasedError(
            "this value belongs to a person who was erased: their data key is gone"
        )
    return opened(key_id, rows[0][0]).cipher


def keys_for(session: Session, contact_ids: set[int]) -> dict[int, DataKey]:
    """The data keys of these people (for bulk inserts, which no flush sees)."""
    if not enabled() or not contact_ids:
        return {}
    found = _keys_of(session, set(contact_ids))
    return {owner: key for owner, key in found.items() if isinstance(owner, int)}


def owned(value: Any, key: DataKey | None) -> Any:
    """`value` handed to its column sealed with `key` (None: the master keys)."""
    if key is None or value is None:
        return value
    if isinstance(value, str):
        return types.Owned(str(value), key)
    if isinstance(value, dict):
        return types.OwnedDocument(dict(value), key)
    return value


def forget(key_id: str) -> None:
    """Drop an erased person's key from this process's memory."""
    _cache.drop(key_id)


def clear_cache() -> None:
    """Forget every opened key (tests switching master keys; never needed in use)."""
    _cache.clear()


def destroy(session: Session, contact: Contact) -> None:
    """Delete the person's data key (their erasure): what it sealed no longer opens."""
    key_id = contact.key_id
    if key_id is None:
        return
    contact.key = None
    contact.key_id = None
    session.info.get(_KEY_IDS, {})[contact.id] = None
    session.flush()
    session.execute(
        delete(PersonKey).where(PersonKey.id == key_id).execution_options(synchronize_session=False)
    )
    forget(key_id)


def scrub(database: Database) -> None:
    """Rid the database files of deleted keys, after an erasure has committed.

    PostgreSQL keeps a deleted row's old version in the table until VACUUM, SQLite in the
    WAL file until a checkpoint (its pages are zeroed by secure_delete). The key table
    is small: this is quick. Copies already in backups or archived WAL stay: those are
    the master keys' to protect (docs/data-protection.md).
    """
    with database.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        if database.is_postgresql:
            # FULL rewrites the table: plain VACUUM frees the row but leaves its bytes.
            autocommit.execute(text("VACUUM FULL person_keys"))
        elif database.is_sqlite:
            busy = autocommit.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).scalar()
            if busy:
                log.warning("WAL checkpoint postponed by a reader; the daily purge tries again")


# --- Whose value is it -----------------------------------------------------------------
#
# Each table that holds sealed values about a person, and how to find that person: in
# Python for rows being flushed, in SQL for `relais keys reencrypt`. PersonKey's own
# column is sealed by the master keys and belongs to nobody.

OwnerOf = Callable[[Session, Any], int | Contact | None]


def _by_contact_id(_session: Session, row: Any) -> int | None:
    contact_id: int | None = row.contact_id
    return contact_id


def _case_event_owner(session: Session, row: CaseEvent) -> int | None:
    # Not flushed yet, the event may only be attached to its case (case.events.append).
    case: Case | None = row.case
    if case is not None:
        return case.contact_id
    case_id: int | None = row.case_id
    if case_id is None:
        return None
    return session.scalar(select(Case.contact_id).where(Case.id == case_id))


def _checkin_owner(session: Session, row: Checkin) -> int | None:
    enrolment_id: int | None = row.enrolment_id
    if enrolment_id is None:
        return None
    return session.scalar(
        select(CheckinEnrolment.contact_id).where(CheckinEnrolment.id == row.enrolment_id)
    )


def _contact_owner(_session: Session, row: Contact) -> Contact:
    return row


OWNERS: dict[str, OwnerOf] = {
    "contacts": _contact_owner,
    "conversations": _by_contact_id,
    "messages": _by_contact_id,
    "cases": _by_contact_id,
    "case_events": _case_event_owner,
    "checkins": _checkin_owner,
}
NOBODY = frozenset({"person_keys"})


def owner_key_sql(table: Table) -> ColumnElement[Any] | None:
    """For `relais keys reencrypt`: the data key id of the person a row is about."""
    if table.name in NOBODY:
        return None
    if table.name == "contacts":
        return table.c.key_id
    contacts = Contact.__table__
    query = select(contacts.c.key_id)
    if table.name == "case_events":
        cases = Case.__table__
        query = query.join(cases, cases.c.contact_id == contacts.c.id).where(
            cases.c.id == table.c.case_id
        )
    elif table.name == "checkins":
        enrolments = CheckinEnrolment.__table__
        query = query.join(enrolments, enrolments.c.contact_id == contacts.c.id).where(
            enrolments.c.id == table.c.enrolment_id
        )
    else:
        query = query.where(contacts.c.id == table.c.contact_id)
    # Correlated to the row's table by name: one key per row, never a table scan's first.
    return query.correlate(table).scalar_subquery()


_SEALED: dict[type[Any], tuple[str, ...]] = {}


def sealed_attributes(model: type[Any]) -> tuple[str, ...]:
    """The attributes of `model` whose columns are sealed at rest."""
    if model not in _SEALED:
        _SEALED[model] = _sealed_attributes(model)
    return _SEALED[model]


def _sealed_attributes(model: type[Any]) -> tuple[str, ...]:
    mapper = model.__mapper__
    return tuple(
        attribute.key
        for attribute in mapper.column_attrs
        if isinstance(attribute.columns[0].type, types.EncryptedText | types.EncryptedJSON)
    )


def _check_every_sealed_table_has_an_owner() -> None:
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        assert isinstance(table, Table)
        if sealed_attributes(mapper.class_) and table.name not in OWNERS | dict.fromkeys(NOBODY):
            raise RuntimeError(f"{table.name} holds sealed values but bot.envelope has no owner")


_check_every_sealed_table_has_an_owner()


# --- Sealing at flush ------------------------------------------------------------------

_KEY_IDS = "relais.envelope.key_ids"  # in session.info: contact id → key id, this transaction


@event.listens_for(Session, "after_transaction_end")
def _forget_key_ids(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY_IDS, None)


@event.listens_for(Session, "before_flush")
def _seal_with_owner_keys(session: Session, _context: Any, _instances: Any) -> None:
    if not enabled():
        return
    with session.no_autoflush:
        for row in session.new:
            if isinstance(row, Contact) and row.key is None and row.erased_at is None:
                row.key = new_key(session)
        pending = list(_changed_sealed_values(session))
        if not pending:
            return
        keys = _keys_of(session, {owner for _row, _name, owner in pending})
        for row, name, owner in pending:
            key = keys.get(owner)
            value = getattr(row, name)
            if key is None:
                # Nobody's, or a person without a key: the master keys seal it, even a
                # value copied from a row of someone who has one.
                if isinstance(value, types.Owned):
                    setattr(row, name, str(value))
                elif isinstance(value, types.OwnedDocument):
                    setattr(row, name, dict(value))
                continue
            if getattr(value, "data_key", None) == key:
                continue
            # Plain, or copied from a row of someone else's: sealed with this row's owner.
            if isinstance(value, str):
                setattr(row, name, types.Owned(str(value), key))
            elif isinstance(value, dict):
                setattr(row, name, types.OwnedDocument(dict(value), key))


def _changed_sealed_values(session: Session) -> Iterable[tuple[Any, str, int | Contact]]:
    for row in (*session.new, *session.dirty):
        table = getattr(type(row), "__tablename__", None)
        owner_of = OWNERS.get(table) if isinstance(table, str) else None
        if owner_of is None:
            continue
        changed = [name for name in sealed_attributes(type(row)) if _needs_owner_key(row, name)]
        if not changed:
            continue
        owner = owner_of(session, row)
        if owner is None:
            continue
        for name in changed:
            yield row, name, owner


def _needs_owner_key(row: Any, name: str) -> bool:
    if row.__dict__.get(name) is None:
        return False
    return bool(inspect(row).attrs[name].history.added)


def _keys_of(session: Session, owners: set[int | Contact]) -> dict[int | Contact, DataKey]:
    """The data key of each owner (a contact id, or a Contact being flushed).

    Someone known from before keys per person existed has none until `relais keys
    reencrypt` (the master keys seal their values meanwhile); an erased person never
    gets one again.
    """
    key_ids: dict[int | Contact, str] = {}
    ids: set[int] = set()
    # Looked up once per transaction: a key id never changes but by erasure or `relais
    # keys reencrypt`, which lock the person; not kept longer, as a rolled-back insert
    # may give the same contact id to someone else.
    known: dict[int, str | None] = session.info.setdefault(_KEY_IDS, {})
    for owner in owners:
        if isinstance(owner, int):
            ids.add(owner)
            continue
        if owner.erased_at is not None:
            # Being erased: what is left of them is sealed by the master keys, never by
            # the key about to be deleted.
            if owner.id is not None:
                known[owner.id] = None
            continue
        # Someone new holds their new key; anyone else, the id of theirs (no load).
        new: PersonKey | None = owner.__dict__.get("key")
        key_id = new.id if new is not None else owner.key_id
        if owner.id is not None:
            known[owner.id] = key_id
        if key_id is not None:
            key_ids[owner] = key_id
    unknown = ids - known.keys()
    if unknown:
        known.update(dict.fromkeys(unknown))
        known.update(
            session.execute(select(Contact.id, Contact.key_id).where(Contact.id.in_(unknown)))
            .tuples()
            .all()
        )
    for contact_id in ids:
        key_id = known[contact_id]
        if key_id is not None:
            key_ids[contact_id] = key_id
    missing = {key_id for key_id in key_ids.values() if _cache.get(key_id) is None}
    if missing:
        for key_id, material in session.execute(
            select(PersonKey.id, PersonKey.sealed).where(PersonKey.id.in_(missing))
        ):
            opened(key_id, material)
    found: dict[int | Contact, DataKey] = {}
    for owner, key_id in key_ids.items():
        key = _cache.get(key_id)
        if key is not None:
            found[owner] = key
    return found
