"""Settings from the environment, parsed strictly.

Nothing here runs at import time: `Settings.from_env()` is called by the app factory and
the CLI. A bad value raises `ConfigError`, whose message names the variable, so start-up
stops with one readable line instead of a traceback deep inside a request.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy.exc
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

SHIPPED_LANGUAGES = ("fr", "en", "ar", "fa_AF", "uk", "pt", "tr")
ENVIRONMENTS = ("development", "production")
MAKE_A_KEY = (
    "make one with `relais keys generate` and set RELAIS_ENCRYPTION_KEYS "
    "(or RELAIS_ENCRYPTION_KEYS_FILE) to it"
)
DEFAULT_DATABASE_URL = "sqlite:///relais.db"

T = TypeVar("T")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class OnCallAddress:
    """Where an on-call alert goes: a channel name and an address on that channel."""

    # "sms", "whatsapp" or "telegram": the values of storage.models.Channel.
    channel: str
    # +E.164 for SMS and WhatsApp, the chat id for Telegram (negative for a group).
    address: str


@dataclass(frozen=True)
class Settings:
    """Everything Relais reads from its environment, already validated."""

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    public_url: str | None = None
    # Reverse proxies in front of Relais whose X-Forwarded-* headers are trusted.
    trusted_proxies: int = 0
    port: int = 8000
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    default_language: str = "fr"
    timezone: str = "Europe/Paris"
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    # `production` refuses to start without encryption keys; `development` (the default,
    # so `relais serve` starts on a fresh machine) stores texts unencrypted, marked so
    # that `relais keys reencrypt` seals them once a key is set.
    environment: str = "development"
    # Contacts with no news for this long are erased; audit entries older than this go.
    retention_days: int = 730
    audit_retention_days: int = 365
    worker_poll_seconds: float = 0.25
    # Sending rates the providers accept (messages a second), per dispatcher process.
    twilio_sms_rate: float = 1.0
    twilio_whatsapp_rate: float = 20.0
    twilio_per_number_rate: float | None = None
    telegram_rate: float = 30.0
    telegram_per_chat_rate: float = 1.0
    # How long a case may wait for a person, by priority (0: no limit).
    sla_urgent_minutes: int = 15
    sla_high_minutes: int = 240
    sla_normal_working_days: int = 2
    sla_low_working_days: int = 0
    # How long a dispatcher owns the rows it claimed; after a crash, others wait this long.
    dispatch_lease_seconds: float = 60.0
    # Who hears about urgent cases nobody claims, and when (minutes after the case opened).
    # Staff phone numbers: kept out of repr so a logged Settings does not spread them.
    oncall: tuple[OnCallAddress, ...] = field(default=(), repr=False)
    oncall_first_alert_minutes: int = 15
    oncall_second_alert_minutes: int = 60
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.environment == "production" and not self.encryption_keys:
            raise ConfigError(
                "RELAIS_ENCRYPTION_KEYS",
                f"required when RELAIS_ENV=production (data at rest is encrypted); {MAKE_A_KEY}",
            )
        if self.environment == "production" and self.twilio_enabled and not self.public_url:
            # Without it, a Twilio signature is checked against the Host header the
            # client chose.
            raise ConfigError(
                "PUBLIC_URL",
                "required when RELAIS_ENV=production and Twilio is on: the address Twilio "
                "calls, e.g. https://relais.example.org",
            )

    @property
    def twilio_enabled(self) -> bool:
        """The Twilio channel is on only with credentials and a sender."""
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from or self.twilio_messaging_service_sid)
        )

    @property
    def telegram_enabled(self) -> bool:
        """The Telegram channel is on only with a bot token."""
        return bool(self.telegram_bot_token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; raise ConfigError on the first bad one."""
        env = _Env(os.environ if environ is None else environ)
        settings = cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL, _database_url),
            secret_key=env.secret("SECRET_KEY", _secret_key),
            public_url=env.optional("PUBLIC_URL", _http_url),
            port=env.get("PORT", 8000, parse_port),
            trusted_proxies=env.get("RELAIS_TRUSTED_PROXIES", 0, _proxies),
            twilio_account_sid=env.optional("TWILIO_ACCOUNT_SID", _twilio_sid("AC")),
            twilio_auth_token=env.secret("TWILIO_AUTH_TOKEN", _non_empty),
            twilio_from=env.optional("TWILIO_FROM", _twilio_sender),
            twilio_messaging_service_sid=env.optional(
                "TWILIO_MESSAGING_SERVICE_SID", _twilio_sid("MG")
            ),
            twilio_api_url=env.get("TWILIO_API_URL", "https://api.twilio.com", _http_url),
            telegram_bot_token=env.secret("TELEGRAM_BOT_TOKEN", _telegram_token),
            telegram_webhook_secret=env.secret("TELEGRAM_WEBHOOK_SECRET", _webhook_secret),
            telegram_api_url=env.get("TELEGRAM_API_URL", "https://api.telegram.org", _http_url),
            default_language=env.get("RELAIS_DEFAULT_LANGUAGE", "fr", _language),
            timezone=env.get("RELAIS_TIMEZONE", "Europe/Paris", _timezone),
            encryption_keys=env.secret("RELAIS_ENCRYPTION_KEYS", _fernet_keys) or (),
            environment=env.get("RELAIS_ENV", "development", _environment),
            retention_days=env.get("RELAIS_RETENTION_DAYS", 730, _days(30)),
            audit_retention_days=env.get("RELAIS_AUDIT_RETENTION_DAYS", 365, _days(30)),
            worker_poll_seconds=env.get("RELAIS_WORKER_POLL_SECONDS", 0.25, _poll_seconds),
            twilio_sms_rate=env.get("RELAIS_TWILIO_SMS_RATE", 1.0, _rate),
            twilio_whatsapp_rate=env.get("RELAIS_TWILIO_WHATSAPP_RATE", 20.0, _rate),
            twilio_per_number_rate=env.optional("RELAIS_TWILIO_PER_NUMBER_RATE", _rate),
            telegram_rate=env.get("RELAIS_TELEGRAM_RATE", 30.0, _rate),
            telegram_per_chat_rate=env.get("RELAIS_TELEGRAM_PER_CHAT_RATE", 1.0, _rate),
            dispatch_lease_seconds=env.get("RELAIS_DISPATCH_LEASE_SECONDS", 60.0, _lease),
            sla_urgent_minutes=env.get("RELAIS_SLA_URGENT_MINUTES", 15, _count),
            sla_high_minutes=env.get("RELAIS_SLA_HIGH_MINUTES", 240, _count),
            sla_normal_working_days=env.get("RELAIS_SLA_NORMAL_WORKING_DAYS", 2, _count),
            sla_low_working_days=env.get("RELAIS_SLA_LOW_WORKING_DAYS", 0, _count),
            oncall=env.get("RELAIS_ONCALL", (), _oncall),
            oncall_first_alert_minutes=env.get("RELAIS_ONCALL_FIRST_ALERT_MINUTES", 15, _minutes),
            oncall_second_alert_minutes=env.get("RELAIS_ONCALL_SECOND_ALERT_MINUTES", 60, _minutes),
            log_level=env.get("RELAIS_LOG_LEVEL", "INFO", _log_level),
        )
        _check_oncall(settings)
        return settings

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """Return a copy with some fields replaced (tests and the CLI use this)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(unknown[0], "not a Relais setting")
        return replace(self, **overrides)


class _Env:
    """Reads variables, treating empty values as unset and `NAME_FILE` as a secret file."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        raw = self._raw(name)
        return default if raw is None else _parse(name, raw, parse)

    def optional(self, name: str, parse: Callable[[str], T]) -> T | None:
        raw = self._raw(name)
        return None if raw is None else _parse(name, raw, parse)

    def secret(self, name: str, parse: Callable[[str], T]) -> T | None:
        """Read NAME, or the file named by NAME_FILE (Docker and systemd secrets)."""
        raw = self._raw(name)
        path = self._raw(f"{name}_FILE")
        if raw is not None and path is not None:
            raise ConfigError(name, f"set either {name} or {name}_FILE, not both")
        if path is not None:
            try:
                raw = Path(path).read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise ConfigError(f"{name}_FILE", f"cannot read {path}: {exc.strerror}") from None
            if raw is None:
                raise ConfigError(f"{name}_FILE", f"{path} is empty")
        return None if raw is None else _parse(name, raw, parse)


def _parse(name: str, raw: str, parse: Callable[[str], T]) -> T:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(name, str(exc)) from None


def _database_url(raw: str) -> str:
    try:
        url = make_url(raw)
    except sqlalchemy.exc.ArgumentError:
        raise ValueError(f"not a database URL: {raw!r}") from None
    try:
        url.get_dialect()
    except sqlalchemy.exc.NoSuchModuleError:
        raise ValueError(
            f"unknown database {url.drivername!r}; use sqlite:///relais.db "
            "or postgresql+psycopg://user@host/db"
        ) from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ValueError(f"Relais runs on SQLite or PostgreSQL, not {url.get_backend_name()}")
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        raise ValueError("PostgreSQL needs the psycopg 3 driver: postgresql+psycopg://…")
    return raw


def _secret_key(raw: str) -> str:
    if len(raw) < 16:
        raise ValueError("too short; use at least 32 random characters")
    return raw


def _http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {raw!r}")
    return raw.rstrip("/")


def _digits(text: str) -> bool:
    """Only ASCII digits ("²" and "٣" pass str.isdigit() but are no setting's number)."""
    return text.isascii() and text.isdigit()


def parse_port(raw: str) -> int:
    if not _digits(raw) or not 1 <= int(raw) <= 65535:
        raise ValueError(f"not a port number (1-65535): {raw!r}")
    return int(raw)


def _proxies(raw: str) -> int:
    if not _digits(raw) or int(raw) > 5:
        raise ValueError(f"the number of reverse proxies in front of Relais (0-5), not {raw!r}")
    return int(raw)


def _non_empty(raw: str) -> str:
    return raw


def _twilio_sid(prefix: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if not (raw.startswith(prefix) and len(raw) == 34 and raw[2:].isalnum()):
            raise ValueError(f"a Twilio SID starts with {prefix} and has 34 characters")
        return raw

    return parse


def _twilio_sender(raw: str) -> str:
    number = raw.removeprefix("whatsapp:")
    if number.startswith("+") and _digits(number[1:]) and 8 <= len(number) <= 16:
        return raw
    if _digits(raw) and 4 <= len(raw) <= 8:  # a short code
        return raw
    raise ValueError(f"a sender is +E.164, whatsapp:+E.164 or a short code, not {raw!r}")


def _telegram_token(raw: str) -> str:
    bot_id, _, secret = raw.partition(":")
    if not (_digits(bot_id) and len(secret) >= 20):
        raise ValueError("a bot token looks like 123456789:AA… (from @BotFather)")
    return raw


def _webhook_secret(raw: str) -> str:
    # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
    if not (1 <= len(raw) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in raw)):
        raise ValueError("use 1-256 characters among A-Z, a-z, 0-9, _ and -")
    return raw


def _language(raw: str) -> str:
    if raw not in SHIPPED_LANGUAGES:
        raise ValueError(f"{raw!r} is not shipped; choose one of {', '.join(SHIPPED_LANGUAGES)}")
    return raw


def _timezone(raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {raw!r}; use an IANA name like Europe/Paris") from None
    return raw


def _fernet_keys(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise ValueError(
                f"key {position} is not a Fernet key; make one with `relais keys generate`"
            ) from None
    return keys


def _environment(raw: str) -> str:
    if raw not in ENVIRONMENTS:
        raise ValueError(f"one of {', '.join(ENVIRONMENTS)}, not {raw!r}")
    return raw


def _days(minimum: int) -> Callable[[str], int]:
    # A floor, so a typo (RELAIS_RETENTION_DAYS=7) cannot erase everyone's file at once.
    def parse(raw: str) -> int:
        if not _digits(raw) or not minimum <= int(raw) <= 36_500:
            raise ValueError(f"a number of days between {minimum} and 36500, not {raw!r}")
        return int(raw)

    return parse


def _poll_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"not a number of seconds: {raw!r}") from None
    if not 0.05 <= value <= 60:
        raise ValueError("choose between 0.05 and 60 seconds")
    return value


def _rate(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"not a number of messages a second: {raw!r}") from None
    if not 0 < value <= 10_000:
        raise ValueError("choose a rate above 0 and at most 10000 messages a second")
    return value


def _lease(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"not a number of seconds: {raw!r}") from None
    if not 5 <= value <= 3600:
        # Shorter than a slow provider's answer, and two dispatchers could send one row.
        raise ValueError("choose between 5 and 3600 seconds")
    return value


_ONCALL_FORMS = "sms:+E.164, whatsapp:+E.164 or telegram:<chat id>"


def _oncall(raw: str) -> tuple[OnCallAddress, ...]:
    entries = [entry.strip() for entry in raw.split(",")]
    addresses: list[OnCallAddress] = []
    for position, entry in enumerate(entries, start=1):
        if not entry:
            continue  # a trailing comma is harmless
        channel, _, address = entry.partition(":")
        if channel in {"sms", "whatsapp"}:
            valid = address.startswith("+") and _digits(address[1:]) and 8 <= len(address) <= 16
        elif channel == "telegram":
            valid = _digits(address.removeprefix("-")) and len(address) <= 20
        else:
            valid = False
        if not valid:
            raise ValueError(f"entry {position} {entry!r} is not {_ONCALL_FORMS}")
        on_call = OnCallAddress(channel, address)
        if on_call in addresses:
            # Listed twice, the same phone would ring twice for every alert.
            raise ValueError(f"entry {position} {entry!r} is listed twice")
        addresses.append(on_call)
    return tuple(addresses)


def _minutes(raw: str) -> int:
    if not _digits(raw) or not 1 <= int(raw) <= 10_080:
        raise ValueError(f"a whole number of minutes between 1 and 10080 (a week), not {raw!r}")
    return int(raw)


def _check_oncall(settings: Settings) -> None:
    """Checks across variables: the reminder comes after the first alert, channels exist."""
    if settings.oncall_second_alert_minutes <= settings.oncall_first_alert_minutes:
        raise ConfigError(
            "RELAIS_ONCALL_SECOND_ALERT_MINUTES",
            f"must be more than RELAIS_ONCALL_FIRST_ALERT_MINUTES "
            f"({settings.oncall_first_alert_minutes})",
        )
    for on_call in settings.oncall:
        enabled = (
            settings.telegram_enabled if on_call.channel == "telegram" else settings.twilio_enabled
        )
        if not enabled:
            # Otherwise the alert would wait in the outbox for a channel that never sends it.
            needs = "TELEGRAM_BOT_TOKEN" if on_call.channel == "telegram" else "the Twilio settings"
            raise ConfigError(
                "RELAIS_ONCALL",
                f"{on_call.channel}:{on_call.address} needs the {on_call.channel} channel "
                f"({needs})",
            )


def _count(raw: str) -> int:
    if not _digits(raw) or int(raw) > 100_000:
        raise ValueError(f"a whole number from 0 (no limit) up, not {raw!r}")
    return int(raw)


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR")
    return level


def instance_secret_key(instance_dir: Path) -> str:
    """Return the secret key kept in the instance folder, creating it once.

    Several processes may start together; creating the file with O_EXCL means exactly
    one writes it and the others read what it wrote.
    """
    path = instance_dir / "secret_key"
    instance_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        raise ConfigError("SECRET_KEY", f"{path} is empty; delete it or set SECRET_KEY") from None
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
