"""Retention: people quiet for two years are erased; audit entries go after a year."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from bot import audit, clock, privacy
from bot.cli import main
from bot.config import Settings
from bot.extensions import relais
from bot.tasks import build_background
from storage.db import Database
from storage.models import AuditEntry, Contact
from tests.conftest import FrozenClock

from .conftest import person_with_history

TWO_YEARS = timedelta(days=730)
ONE_YEAR = timedelta(days=365)


def _erased(database: Database) -> list[int]:
    with database.read() as session:
        return list(session.scalars(select(Contact.id).where(Contact.erased_at.is_not(None))))


def _purge(database: Database) -> privacy.Purged:
    return privacy.purge(database, clock.now(), retention=TWO_YEARS, audit_retention=ONE_YEAR)


def test_purge_erases_people_quiet_for_two_years_and_keeps_the_others(
    app: Flask, frozen_clock: FrozenClock
) -> None:
    database = relais(app).database
    service = relais(app).conversations
    quiet = person_with_history(service, "+33639980201")
    frozen_clock.advance(TWO_YEARS - timedelta(days=1))
    recent = person_with_history(service, "+33639980202")
    frozen_clock.advance(timedelta(days=2))

    purged = _purge(database)

    assert purged.contacts == 1
    assert _erased(database) == [quiet.contact_id]
    assert recent.contact_id not in _erased(database)
    with database.read() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "contact.erase")
        ).one()
    assert (entry.actor, entry.detail) == ("system", {"reason": "retention"})


def test_purge_deletes_audit_entries_older_than_a_year(
    app: Flask, frozen_clock: FrozenClock
) -> None:
    database = relais(app).database
    with database.write() as session:
        audit.record(session, actor="test", action=audit.LOGIN)
    frozen_clock.advance(ONE_YEAR - timedelta(days=1))
    with database.write() as session:
        audit.record(session, actor="test", action=audit.LOGOUT)
    frozen_clock.advance(timedelta(days=2))

    assert _purge(database).audit_entries == 1

    with database.read() as session:
        assert list(session.scalars(select(AuditEntry.action))) == [audit.LOGOUT]


def test_relais_purge_uses_the_configured_retention_and_a_given_time(
    app: Flask, runner: CliRunner
) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)
    in_100_days = (clock.now() + timedelta(days=100)).isoformat()

    kept = runner.invoke(main, ["purge", "--now", in_100_days])
    erased = runner.invoke(
        main, ["purge", "--now", in_100_days], env={"RELAIS_RETENTION_DAYS": "90"}
    )

    assert kept.exit_code == 0, kept.output
    assert "Erased 0 contact(s) quiet for 730 days" in kept.output
    assert erased.exit_code == 0, erased.output
    assert "Erased 1 contact(s) quiet for 90 days" in erased.output
    assert _erased(database) == [person.contact_id]


def test_a_retention_below_30_days_is_refused_as_a_likely_typo() -> None:
    result = CliRunner().invoke(main, ["purge"], env={"RELAIS_RETENTION_DAYS": "7"})
    assert result.exit_code == 2
    assert "RELAIS_RETENTION_DAYS" in result.output


def test_the_worker_runs_the_purge_every_day(settings: Settings, db: Database) -> None:
    background = build_background(settings, Database(settings.database_url))
    try:
        task = next(task for task in background.tasks if task.name == "retention purge")
        assert task.every == timedelta(days=1).total_seconds()
        assert task.function(clock.now()) == 0
    finally:
        background.close()
