"""`relais users create`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bot.accounts import verify_password
from bot.cli import main
from storage.db import Database
from storage.models import AuditEntry, User

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
