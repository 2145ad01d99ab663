"""A database connection lost at a chosen moment, as when PostgreSQL restarts or a
backend is killed: the DBAPI connection is closed under SQLAlchemy's feet, so the next
statement fails the way a dropped connection does and SQLAlchemy invalidates it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def connection_lost(engine: Engine, *, before: str, times: int = 1) -> Iterator[list[str]]:
    """Close the connection just before the first `times` statements containing `before`
    (or at COMMIT when `before` is "COMMIT"); yields the statements it broke."""
    broken: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if before != "COMMIT" and before in statement and len(broken) < times:
            broken.append(statement)
            conn.connection.dbapi_connection.close()

    def on_commit(conn: Any) -> None:
        if before == "COMMIT" and len(broken) < times:
            broken.append("COMMIT")
            conn.connection.dbapi_connection.close()

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield broken
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
