"""Database.execute_alone: each thread's own autocommit connection (the webhook's store)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy.exc
from sqlalchemy import event, func, select, text

from bot import clock
from bot.reception import InboundMessage, Reception
from storage.db import Database
from storage.models import Channel, Message

SENDER = "+33639980555"


def _message(text_: str, sid: str) -> InboundMessage:
    return InboundMessage(Channel.SMS, SENDER, text_, clock.now(), provider_id=sid)


def _stored(database: Database) -> list[str | None]:
    with database.read() as session:
        return list(session.scalars(select(Message.provider_id).order_by(Message.id)))


def test_each_statement_is_committed_at_once(database_url: str) -> None:
    writer, reader = Database(database_url), Database(database_url)
    try:
        Reception(writer).receive(_message("Bonjour", "SM1"))  # someone new: a transaction
        again = Reception(writer).receive(_message("encore", "SM2"))  # one statement
        assert again.message_id is not None
        # Another engine sees it: nothing was left waiting for a commit.
        assert _stored(reader) == ["SM1", "SM2"]
    finally:
        writer.dispose()
        reader.dispose()


def test_a_failed_statement_leaves_the_connection_usable(database_url: str) -> None:
    database = Database(database_url)
    try:
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            database.execute_alone(text("SELECT * FROM no_such_table"), {})
        assert database.execute_alone(text("SELECT 1"), {})[0][0] == 1
    finally:
        database.dispose()


def test_threads_have_their_own_connections_and_dispose_closes_them(database_url: str) -> None:
    database = Database(database_url)
    reception = Reception(database)
    reception.receive(_message("Bonjour", "SM0"))  # the test thread's own connection
    opened: list[object] = []
    closed: list[object] = []
    # A thread's own connection leaves the pool: detached, and closed as such.
    event.listen(database.engine, "detach", lambda dbapi, _record: opened.append(dbapi))
    event.listen(database.engine, "close_detached", lambda dbapi: closed.append(dbapi))
    errors: list[BaseException] = []
    written, stop = threading.Barrier(5), threading.Event()

    def write(n: int) -> None:
        # Like a server's threads, alive for as long as the process.
        try:
            for k in range(20):
                reception.receive(_message("oui", f"SM{n}-{k}"))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        written.wait()
        stop.wait()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    written.wait()
    try:
        assert not errors
        with database.read() as session:
            assert session.scalar(select(func.count()).select_from(Message)) == 81
        assert len({id(c) for c in opened}) == 4  # one each, none shared, none per message
        database.dispose()
        assert {id(c) for c in opened} <= {id(c) for c in closed}
        assert len(closed) == 5  # and the test thread's
    finally:
        stop.set()
        for thread in threads:
            thread.join()


@pytest.mark.postgres_only
def test_a_lost_connection_is_replaced_and_the_message_stored_once(database_url: str) -> None:
    database, admin = Database(database_url), Database(database_url)
    reception = Reception(database)
    try:
        reception.receive(_message("Bonjour", "SM1"))
        reception.receive(_message("oui", "SM2"))  # this thread's connection is open now
        backend = database.execute_alone(text("SELECT pg_backend_pid()"), {})[0][0]
        with admin.write() as session:  # as when PostgreSQL restarts
            session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        stored = reception.receive(_message("4", "SM3"))
        assert stored.message_id is not None
        assert _stored(database) == ["SM1", "SM2", "SM3"]
    finally:
        database.dispose()
        admin.dispose()
