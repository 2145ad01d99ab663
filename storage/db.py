"""Engine and sessions for SQLite and PostgreSQL.

SQLite: WAL (readers never wait for the writer), foreign keys on, a busy timeout, and
write transactions that start with BEGIN IMMEDIATE so two writers queue up at the start
instead of one failing half-way with "database is locked". PostgreSQL: psycopg 3, a
pre-ping so a restarted server doesn't fail the first request.

Besides sessions, each thread can have one connection of its own in autocommit, for a
hot statement that is a transaction by itself (the webhook's store): no pool checkout,
no pre-ping, no BEGIN and COMMIT round trips. A lost connection is replaced (and the
statement run again when that is safe).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


class Database:
    """One engine and its session factories, shared by the web app, CLI and worker."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.engine = _create_engine(url, echo=echo)
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

    def execute_alone(
        self, statement: Executable, values: Mapping[str, Any], *, replay_safe: bool = False
    ) -> list[Row[Any]]:
        """Run one statement as its own transaction on this thread's connection; its rows.

        When the connection turns out to be lost, it is replaced; the statement runs again
        on the new one only if `replay_safe` says a second run cannot do the work twice
        (an `INSERT … ON CONFLICT DO NOTHING` on a unique key the values fill in: had the
        first run committed, the second adds nothing). Otherwise the error is raised.
        """
        try:
            result = self._own_connection().execute(statement, values)
        except exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            self._drop_own_connection()
            if not replay_safe:
                raise
            result = self._own_connection().execute(statement, values)
        return list(result.all()) if result.returns_rows else []

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
        self.engine.dispose()


def _create_engine(url: str, *, echo: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    engine = create_engine(
        url,
        echo=echo,
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        connect_args={"isolation_level": None, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # each statement is its own transaction
    mode = options.get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
