"""Migrations create the schema, are idempotent, and agree with the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.cli import main
from storage import migrate
from storage.db import Database
from storage.models import Base


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, on the backend under test."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url is None:
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    name = f"relais_migrate_{uuid.uuid4().hex[:10]}"
    admin = Database(url)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_db_upgrade_creates_the_schema_and_a_second_run_is_a_no_op(
    empty_database_url: str,
) -> None:
    runner = CliRunner(env={"DATABASE_URL": empty_database_url})
    first = runner.invoke(main, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "upgraded from empty to" in first.output

    database = Database(empty_database_url)
    tables = set(inspect(database.engine).get_table_names())
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    revision = migrate.current_revision(database.engine)
    assert revision == migrate.head_revision(database.engine)

    second = runner.invoke(main, ["db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert f"already at {revision}" in second.output
    assert migrate.current_revision(database.engine) == revision
    database.dispose()


def test_migrations_and_models_agree(database_url: str) -> None:
    database = Database(database_url)
    with database.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    database.dispose()
    assert diff == []


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/pragmas.db")
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert (connection.execute(text("PRAGMA busy_timeout")).scalar() or 0) >= 5000
    database.dispose()
