"""Fixtures every test may use: app, client, CLI runner, database, frozen clock.

The backend under test is SQLite unless `TEST_DATABASE_URL` names a PostgreSQL database
(which the suite may wipe). Each test gets an empty, migrated database: on SQLite a copy
of a file migrated once per session; on PostgreSQL the schema is migrated once and every
table is truncated after each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import create_app
from bot.config import Settings
from bot.extensions import relais
from storage import migrate
from storage.db import Database
from storage.models import Base

# Local fake providers, reached through the real SDKs' HTTP path.
pytest_plugins = ("tests.fakes.twilio", "tests.fakes.telegram")

TEST_SECRET_KEY = "test-secret-key-not-for-production"
# A Wednesday morning in Paris, in November (winter time, UTC+1).
FROZEN_AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden conversation expectations instead of comparing them",
    )


def _test_database_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def pytest_report_header(config: pytest.Config) -> str:
    url = _test_database_url()
    backend = make_url(url).render_as_string(hide_password=True) if url else "SQLite"
    return f"relais database under test: {backend}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = bool(_test_database_url())
    skip = pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL)")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once for the session: a SQLite file, or the PostgreSQL URL."""
    url = _test_database_url()
    if url is None:
        path = tmp_path_factory.mktemp("template") / "relais.db"
        database = Database(f"sqlite:///{path}")
        migrate.upgrade(database.engine)
        database.dispose()
        yield str(path)
        return
    database = Database(url)
    with database.engine.begin() as connection:
        # Start from nothing: a previous run may have left another schema version.
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(database.engine)
    database.dispose()
    yield url


@pytest.fixture
def database_url(_migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database for this test alone."""
    if _test_database_url() is None:
        path = tmp_path / "relais.db"
        shutil.copyfile(_migrated_template, path)
        yield f"sqlite:///{path}"
        return
    yield _migrated_template
    _truncate_all(_migrated_template)


def _truncate_all(url: str) -> None:
    database = Database(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for a test: its own database, a fixed secret, no channels configured."""
    return Settings.from_env({}).with_overrides(
        {"database_url": database_url, "secret_key": TEST_SECRET_KEY}
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The Relais web app on the test's database."""
    application = create_app({"TESTING": True}, settings=settings)
    yield application
    relais(application).database.dispose()


@pytest.fixture
def db(app: Flask) -> Database:
    """The app's database (`with db.write() as session: …`)."""
    return relais(app).database


@pytest.fixture
def client(app: Flask, request: pytest.FixtureRequest) -> FlaskClient:
    """A test client; with `frozen_clock` in the test, time is frozen before anything else.

    Flask signs session cookies with a timestamp: a login signed on the real clock and
    read on the frozen one looks like it comes from the future, and is dropped.
    """
    if "frozen_clock" in request.fixturenames:
        request.getfixturevalue("frozen_clock")
    return app.test_client()


@pytest.fixture
def runner(database_url: str) -> CliRunner:
    """Runs `relais …` in-process against the test's database."""
    return CliRunner(env={"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY})


class FrozenClock:
    """A stopped clock that tests move forward explicitly."""

    def __init__(self, traveller: time_machine.Traveller) -> None:
        self._traveller = traveller

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self._traveller.shift(delta)
        return self.now()

    def move_to(self, when: datetime) -> datetime:
        self._traveller.move_to(when)
        return self.now()


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    """Time stands still at FROZEN_AT until the test moves it."""
    with time_machine.travel(FROZEN_AT, tick=False) as traveller:
        yield FrozenClock(traveller)


def process_inbox(app: Flask) -> int:
    """Process what webhooks stored, as the worker's inbox task does; return how many."""
    from bot.inbox import Inbox

    inbox = Inbox(relais(app).conversations)
    try:
        total = 0
        while handled := inbox.run_once():
            total += handled
        return total
    finally:
        inbox.close()
