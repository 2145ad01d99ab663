"""`relais users create` and `relais users reset-password`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.accounts import verify_password
from bot.cli import main
from storage.db import Database
from storage.models import AuditEntry, LoginFailure, User

PASSWORD = "correct horse battery staple"


def _password_file(tmp_path: Path, password: str = PASSWORD) -> str:
    path = tmp_path / "password"
    path.write_text(password + "\n", encoding="utf-8")
    return str(path)


def test_it_stores_a_hash_never_the_password(
    runner: CliRunner, database_url: str, tmp_path: Path
) -> None:
    result = runner.invoke(
        main,
        [
            "users",
            "create",
            "Lead@Example.org",
            "--role",
            "supervisor",
            "--password-file",
            _password_file(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Created supervisor account lead@example.org" in result.output
    database = Database(database_url)
    with database.read() as session:
        user = session.scalars(select(User)).one()
        audit = session.scalars(select(AuditEntry)).one()
    database.dispose()
    assert user.email == "lead@example.org"
    assert user.role == "supervisor"
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    assert verify_password(user.password_hash, PASSWORD)
    assert (audit.action, audit.actor, audit.target_id) == ("user.create", "cli", user.id)


def test_it_prompts_for_the_password_twice(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["users", "create", "worker@example.org"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created worker account" in result.output


def test_the_same_email_twice_is_refused_clearly(runner: CliRunner, tmp_path: Path) -> None:
    args = ["users", "create", "worker@example.org", "--password-file", _password_file(tmp_path)]
    assert runner.invoke(main, args).exit_code == 0
    args[2] = "WORKER@example.org"
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "an account for worker@example.org already exists" in result.output
    assert "Traceback" not in result.output


def test_a_short_password_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main,
        ["users", "create", "w@example.org", "--password-file", _password_file(tmp_path, "short")],
    )
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_a_malformed_email_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main, ["users", "create", "not-an-email", "--password-file", _password_file(tmp_path)]
    )
    assert result.exit_code == 1
    assert "is not an e-mail address" in result.output


def test_it_asks_for_migrations_on_an_empty_database(tmp_path: Path) -> None:
    runner = CliRunner(env={"DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"})
    result = runner.invoke(
        main, ["users", "create", "w@example.org", "--password-file", _password_file(tmp_path)]
    )
    assert result.exit_code == 1
    assert "run `relais db upgrade` first" in result.output


def _user(database_url: str, email: str) -> User:
    database = Database(database_url)
    try:
        with database.read() as session:
            return session.scalars(select(User).where(User.email == email)).one()
    finally:
        database.dispose()


WASSIM = "wassim.worker@example.org"
# Twelve characters or more, and still guessed in seconds; the last two are his name.
WEAK = ["aaaaaaaaaaaa", "password1234", "Wassim Worker 2026", "wassimworker1"]


@pytest.mark.parametrize("weak", WEAK)
def test_a_guessable_password_is_refused(
    runner: CliRunner, database_url: str, tmp_path: Path, weak: str
) -> None:
    result = runner.invoke(
        main, ["users", "create", WASSIM, "--password-file", _password_file(tmp_path, weak)]
    )
    assert result.exit_code == 1
    assert "this password is too easy to guess" in result.output
    database = Database(database_url)
    with database.read() as session:
        assert session.scalars(select(User)).all() == []
    database.dispose()


def test_the_person_must_change_the_password_the_command_set(
    runner: CliRunner, database_url: str, tmp_path: Path
) -> None:
    args = ["users", "create", WASSIM, "--password-file", _password_file(tmp_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "they choose their own password at their first login" in result.output
    assert _user(database_url, WASSIM).must_change_password


def _reset(runner: CliRunner, tmp_path: Path, email: str, password: str) -> Result:
    path = tmp_path / "new-password"
    path.write_text(password + "\n", encoding="utf-8")
    return runner.invoke(main, ["users", "reset-password", email, "--password-file", str(path)])


def test_reset_password_sets_one_to_change_ends_sessions_and_lifts_locks(
    runner: CliRunner, database_url: str, tmp_path: Path
) -> None:
    runner.invoke(main, ["users", "create", WASSIM, "--password-file", _password_file(tmp_path)])
    database = Database(database_url)
    with database.write() as session:
        user = session.scalars(select(User)).one()
        user.must_change_password = False
        before = user.session_version
        now = datetime.now(UTC)
        session.add(
            LoginFailure(
                user_id=user.id,
                client="203.0.113.9",
                failures=9,
                locked_until=now + timedelta(minutes=5),
                last_failure_at=now,
            )
        )

    result = _reset(runner, tmp_path, "Wassim.Worker@example.org", "lentils on a tuesday evening")
    assert result.exit_code == 0, result.output
    assert "New password for wassim.worker@example.org" in result.output
    with database.read() as session:
        user = session.scalars(select(User)).one()
        assert verify_password(user.password_hash, "lentils on a tuesday evening")
        assert user.must_change_password
        assert user.session_version > before
        assert session.scalars(select(LoginFailure)).all() == []
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
        assert (entry.actor, entry.target_id, entry.detail) == (
            "cli",
            user.id,
            {"new_password": True},
        )
    database.dispose()


@pytest.mark.parametrize("weak", WEAK)
def test_reset_password_refuses_a_guessable_password(
    runner: CliRunner, database_url: str, tmp_path: Path, weak: str
) -> None:
    runner.invoke(main, ["users", "create", WASSIM, "--password-file", _password_file(tmp_path)])
    result = _reset(runner, tmp_path, WASSIM, weak)
    assert result.exit_code == 1
    assert "this password is too easy to guess" in result.output
    assert verify_password(_user(database_url, WASSIM).password_hash, PASSWORD)


def test_reset_password_of_an_unknown_account_says_so(runner: CliRunner, tmp_path: Path) -> None:
    result = _reset(runner, tmp_path, "nobody@example.org", "lentils on a tuesday evening")
    assert result.exit_code == 1
    assert "no account for nobody@example.org" in result.output
