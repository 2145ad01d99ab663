"""Engine and sessions for SQLite and PostgreSQL.

SQLite: WAL (readers never wait for the writer), foreign keys on, a busy timeout, and
write transactions that start with BEGIN IMMEDIATE so two writers queue up at the start
instead of one failing half-way with "database is locked". PostgreSQL: psycopg 3, a
pre-ping so a restarted server doesn't fail the first request.

Besides sessions, each thread can have one connection of its own in autocommit, for a
hot statement that is a transaction by itself (the webhook's store): no pool checkout,
no pre-ping, no BEGIN and COMMIT round trips.

A lost connection (a restarted or failed-over server, a killed backend, a proxy that
dropped it) is replaced, and the work done again on the new one when that cannot do it
twice: `execute_alone` and `write_retrying`. What "cannot do it twice" means is the
caller's to say, since a connection lost during COMMIT leaves unknown whether it
committed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Seconds to wait before each new try after a lost connection: about 8 s in all, what a
# server restart or a failover takes, and short of a provider's webhook timeout (15 s).
RECONNECT_DELAYS = (0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 4.0)

T = TypeVar("T")


# Each engine's dialect is its own object: a value read through it names its database
# (bot.envelope loads a person's data key from the database the value came from).
# Both references are weak: the registry keeps no database or engine alive.
_by_dialect: weakref.WeakKeyDictionary[Any, weakref.ref[Database]] = weakref.WeakKeyDictionary()


def database_of(dialect: Any) -> Database | None:
    """The Database whose engine has this dialect, while it exists."""
    reference = _by_dialect.get(dialect)
    return reference() if reference is not None else None


def lost_connection(error: BaseException) -> bool:
    """The error says the connection is gone (SQLAlchemy has invalidated it)."""
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)


class Database:
    """One engine and its session factories, shared by the web app, CLI and worker."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self._url_text = url
        self.engine = _create_engine(url, echo=echo)
        self._unpooled: Engine | None = None
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        # On SQLite a separate engine view whose transactions begin IMMEDIATE.
        writer_bind = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else self.engine
        )
        self._writer = sessionmaker(writer_bind, expire_on_commit=False)
        self._own = threading.local()
        # Every thread's own connection, so that dispose() closes them too.
        self._owned: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._owned_lock = threading.Lock()
        _by_dialect[self.engine.dialect] = weakref.ref(self)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; rolled back at the end."""
        with self._reader() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._writer() as session, session.begin():
            yield session

    def write_retrying(self, work: Callable[[Session], T], *, replay_safe: bool) -> T:
        """`work` in one write transaction; on a lost connection, again on a new one.

        A connection lost before COMMIT undid everything: the work runs again. One lost
        during COMMIT leaves unknown whether it committed: the work runs again only if
        `replay_safe` says a second run cannot do it twice (it re-checks what it changes,
        or inserts on a unique key with ON CONFLICT DO NOTHING). Otherwise, and when the
        connection cannot be had back in about 8 s, the error is raised.
        """
        for attempt, delay in enumerate(RECONNECT_DELAYS, start=1):
            committing = False
            try:
                with self._writer() as session, session.begin():
                    result = work(session)
                    committing = True
                return result
            except exc.DBAPIError as error:
                last = attempt == len(RECONNECT_DELAYS)
                if not lost_connection(error) or last or (committing and not replay_safe):
                    raise
                log.warning("database connection lost (%s); trying again", _first_line(error))
            time.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def execute_alone(
        self, statement: Executable, values: Mapping[str, Any], *, replay_safe: bool = False
    ) -> list[Row[Any]]:
        """Run one statement as its own transaction on this thread's connection; its rows.

        When the connection turns out to be lost, it is replaced; the statement runs again
        on the new one only if `replay_safe` says a second run cannot do the work twice
        (an `INSERT … ON CONFLICT DO NOTHING` on a unique key the values fill in: had the
        first run committed, the second adds nothing). Otherwise the error is raised.
        """
        for attempt, delay in enumerate(RECONNECT_DELAYS, start=1):
            try:
                result = self._own_connection().execute(statement, values)
                return list(result.all()) if result.returns_rows else []
            except exc.DBAPIError as error:
                if not lost_connection(error):
                    raise
                self._drop_own_connection()
                if not replay_safe or attempt == len(RECONNECT_DELAYS):
                    raise
                log.warning("database connection lost (%s); trying again", _first_line(error))
            time.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def execute_unpooled(self, statement: Executable) -> list[Row[Any]]:
        """Run one read on a connection of its own, outside the pool; its rows.

        For a read made while the caller holds a pooled connection (a data key opened as
        a row is read): waiting for a second pooled one could wait for ever once every
        thread does the same. Retried on a lost connection (a read is safe to repeat).
        """
        for attempt, delay in enumerate(RECONNECT_DELAYS, start=1):
            try:
                with self._unpooled_engine().connect() as connection:
                    return list(connection.execute(statement).all())
            except exc.DBAPIError as error:
                if not lost_connection(error) or attempt == len(RECONNECT_DELAYS):
                    raise
                log.warning("database connection lost (%s); trying again", _first_line(error))
            time.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _unpooled_engine(self) -> Engine:
        with self._owned_lock:
            if self._unpooled is None:
                self._unpooled = _create_engine(str(self._url_text), echo=False, pooled=False)
            return self._unpooled

    def _own_connection(self) -> Connection:
        connection: Connection | None = getattr(self._own, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            # Out of the pool's count: sessions keep every pooled connection.
            connection.detach()
            self._own.connection = connection
            with self._owned_lock:
                self._owned.add(connection)
        return connection

    def _drop_own_connection(self) -> None:
        connection: Connection | None = getattr(self._own, "connection", None)
        self._own.connection = None
        if connection is not None:
            connection.close()

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        with self._owned_lock:
            owned, self._owned = list(self._owned), weakref.WeakSet()
        for connection in owned:
            connection.close()
        if self._unpooled is not None:
            self._unpooled.dispose()
        self.engine.dispose()


def _first_line(error: BaseException) -> str:
    lines = str(getattr(error, "orig", None) or error).splitlines()
    return lines[0][:200] if lines else type(error).__name__


def _create_engine(url: str, *, echo: bool, pooled: bool = True) -> Engine:
    parsed = make_url(url)
    pooling: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    # A failed statement's message would otherwise print its parameters: phone numbers,
    # what people wrote. The statement itself is enough to find a bug.
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=pooled, hide_parameters=True, **pooling)
    _create_private_file(parsed.database)
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        **pooling,
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        connect_args={"isolation_level": None, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _create_private_file(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (its -wal and -shm follow it).

    sqlite3 would create it with the process's umask, often world-readable.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        descriptor = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # a missing folder: sqlite3 says so when it connects, with the path
    os.close(descriptor)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows are overwritten with zeros, not left in free pages: an erased
        # person's data key must not stay readable in the file.
        cursor.execute("PRAGMA secure_delete = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # each statement is its own transaction
    mode = options.get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
