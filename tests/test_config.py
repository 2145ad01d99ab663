"""Settings are read strictly: a bad value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, Settings, instance_secret_key


def test_it_has_working_defaults_with_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///relais.db"
    assert settings.default_language == "fr"
    assert settings.timezone == "Europe/Paris"
    assert not settings.twilio_enabled
    assert not settings.telegram_enabled


def test_it_reads_postgresql_urls_with_psycopg() -> None:
    url = "postgresql+psycopg://relais:secret@db.internal:5432/relais"
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "nonsense://"),
        ("DATABASE_URL", "not a url at all"),
        ("DATABASE_URL", "mysql://root@localhost/relais"),
        ("DATABASE_URL", "postgresql+psycopg2://u@h/d"),
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("PORT", "8²"),
        ("PUBLIC_URL", "relais.example.org"),
        ("TWILIO_ACCOUNT_SID", "XX123"),
        ("TWILIO_MESSAGING_SERVICE_SID", "AC" + "0" * 32),
        ("TWILIO_FROM", "Relais"),
        ("TWILIO_API_URL", "ftp://twilio"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_WEBHOOK_SECRET", "spaces are not allowed"),
        ("RELAIS_DEFAULT_LANGUAGE", "de"),
        ("RELAIS_TIMEZONE", "Mars/Olympus_Mons"),
        ("RELAIS_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("RELAIS_WORKER_POLL_SECONDS", "soon"),
        ("RELAIS_LOG_LEVEL", "LOUD"),
        ("SECRET_KEY", "short"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({variable: value})
    assert error.value.variable == variable
    assert str(error.value).startswith(f"{variable}: ")
    assert "\n" not in str(error.value)


def test_empty_values_count_as_unset() -> None:
    assert Settings.from_env({"PORT": "", "PUBLIC_URL": "  "}).port == 8000


def test_it_accepts_well_formed_channel_settings() -> None:
    settings = Settings.from_env(
        {
            "TWILIO_ACCOUNT_SID": "AC" + "a1" * 16,
            "TWILIO_AUTH_TOKEN": "token",
            "TWILIO_FROM": "whatsapp:+33639980000",
            "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
            "TELEGRAM_WEBHOOK_SECRET": "s3cret_-",
            "PUBLIC_URL": "https://relais.example.org/",
        }
    )
    assert settings.twilio_enabled
    assert settings.telegram_enabled
    assert settings.public_url == "https://relais.example.org"


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("123456:" + "B" * 35 + "\n", encoding="utf-8")
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN_FILE": str(secret)})
    assert settings.telegram_bot_token == "123456:" + "B" * 35


def test_a_missing_secret_file_names_the_file_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"SECRET_KEY_FILE": str(tmp_path / "absent")})
    assert error.value.variable == "SECRET_KEY_FILE"


def test_a_secret_set_twice_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("x" * 40, encoding="utf-8")
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env({"SECRET_KEY": "y" * 40, "SECRET_KEY_FILE": str(secret)})


def test_encryption_keys_keep_their_order() -> None:
    newest, oldest = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings.from_env({"RELAIS_ENCRYPTION_KEYS": f"{newest}, {oldest}"})
    assert settings.encryption_keys == (newest, oldest)


def test_overrides_must_name_real_settings() -> None:
    with pytest.raises(ConfigError, match="not a Relais setting"):
        Settings.from_env({}).with_overrides({"databse_url": "sqlite://"})


def test_the_instance_secret_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = instance_secret_key(tmp_path / "instance")
    assert len(first) >= 32
    assert instance_secret_key(tmp_path / "instance") == first
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_secrets_do_not_appear_in_the_settings_repr() -> None:
    settings = Settings.from_env({"TWILIO_AUTH_TOKEN": "hunter2-twilio"})
    assert "hunter2-twilio" not in repr(settings)
