"""The `relais` command."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import click
import sqlalchemy.exc

from bot import clock
from bot.accounts import AccountError, create_user
from bot.app import configure_logging, create_app
from bot.config import SHIPPED_LANGUAGES, ConfigError, Settings, parse_port
from bot.crypto import bind_keys
from bot.extensions import relais
from bot.tasks import build_background
from bot.worker import Worker
from storage import migrate
from storage.db import Database
from storage.models import Role

log = logging.getLogger("relais")
# How the command line appears in the audit log.
CLI_ACTOR = "cli"


class ConfigurationProblem(click.ClickException):
    """Shown as one line, exit status 2: start-up stops before doing anything."""

    exit_code = 2

    def format_message(self) -> str:
        return f"configuration: {self.message}"


class RelaisGroup(click.Group):
    """Turns configuration and database errors into one readable line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise ConfigurationProblem(str(exc)) from None
        except sqlalchemy.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise click.ClickException(f"database unreachable: {reason}") from None


def load_settings() -> Settings:
    """Settings from the environment, with the process's log level and keys applied."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    bind_keys(settings.encryption_keys)
    return settings


def require_current_schema(database: Database) -> None:
    """Refuse to work on a database that lacks this version's migrations."""
    current = migrate.current_revision(database.engine)
    if current != migrate.head_revision(database.engine):
        raise click.ClickException(
            f"the database is at {current or 'no schema'}, this Relais needs "
            f"{migrate.head_revision(database.engine)}: run `relais db upgrade` first"
        )


@click.group(cls=RelaisGroup)
@click.version_option(package_name="relais")
def main() -> None:
    """Relais: intake and weekly check-ins by SMS, WhatsApp and Telegram."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=None, help="Port to listen on [default: $PORT or 8000].")
@click.option("--threads", default=8, show_default=True, help="Request threads.")
def serve(host: str, port: str | None, threads: int) -> None:
    """Run the web app and the background worker in one process."""
    from waitress.server import create_server

    settings = load_settings()
    if port is not None:
        try:
            settings = settings.with_overrides({"port": parse_port(port)})
        except ValueError as exc:
            raise ConfigError("--port", str(exc)) from None
    database = Database(settings.database_url)
    migrate.upgrade(database.engine)
    database.dispose()
    app = create_app(settings=settings)

    background = build_background(settings, Database(settings.database_url))
    worker = Worker(background.tasks, poll_seconds=settings.worker_poll_seconds)
    # One process: a stored message wakes the worker instead of waiting for its poll.
    relais(app).wake_worker = worker.wake
    thread = threading.Thread(target=worker.run, name="relais-worker", daemon=True)
    thread.start()

    def stop(signum: int, _frame: FrameType | None) -> None:
        # waitress's loop ends on KeyboardInterrupt; the worker is stopped below.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    server = create_server(
        app,
        host=host,
        port=settings.port,
        threads=threads,
        # waitress drops X-Forwarded-* by default; behind RELAIS_TRUSTED_PROXIES they must
        # reach the app, which reads them (ProxyFix, bot/app.py) as gunicorn's would.
        clear_untrusted_proxy_headers=not settings.trusted_proxies,
    )
    click.echo(f"Relais listening on http://{host}:{settings.port}/ (Ctrl-C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        worker.stop()
        thread.join(timeout=10)
        background.close()
        log.info("relais stopped")


@main.command()
def worker() -> None:
    """Run the background worker until SIGTERM or Ctrl-C."""
    settings = load_settings()
    database = Database(settings.database_url)
    require_current_schema(database)
    background = build_background(settings, database)
    instance = Worker(background.tasks, poll_seconds=settings.worker_poll_seconds)
    instance.install_signal_handlers()
    try:
        instance.run()
    finally:
        background.close()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations to DATABASE_URL (a no-op when up to date)."""
    settings = load_settings()
    database = Database(settings.database_url)
    try:
        before = migrate.current_revision(database.engine)
        migrate.upgrade(database.engine, revision)
        after = migrate.current_revision(database.engine)
    finally:
        database.dispose()
    if before == after:
        click.echo(f"Database already at {after}.")
    else:
        click.echo(f"Database upgraded from {before or 'empty'} to {after}.")


@main.group()
def flows() -> None:
    """Conversation flows and their translations."""


@flows.command("check")
@click.option(
    "--flows-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: shipped flows."
)
@click.option(
    "--locales-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Default: shipped translations.",
)
def flows_check(flows_dir: Path | None, locales_dir: Path | None) -> None:
    """Validate every flow and catalog; exit 1 listing every problem."""
    from bot import flowcheck, paths
    from bot.dashboard.i18n import check_dashboard_catalogs

    locales = locales_dir or paths.locales_dir()
    problems = flowcheck.check(flows_dir or paths.flows_dir(), locales)
    if locales_dir is None or (locales / "dashboard.pot").is_file():
        problems += check_dashboard_catalogs(locales)
    cwd = f"{Path.cwd()}/"
    for problem in problems:
        click.echo(problem.removeprefix(cwd), err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) in flows or translations")
    click.echo("Flows and translations are fine.")


@main.command()
@click.option("--lang", "language", type=click.Choice(SHIPPED_LANGUAGES), help="Language to use.")
@click.option("--flow", help="Start this flow at once (default: wait for a first message).")
@click.option("--as", "address", default="+33639980000", show_default=True, help="Who you are.")
@click.option(
    "--channel",
    type=click.Choice(["sms", "whatsapp", "telegram"]),
    default="sms",
    show_default=True,
    help="Show messages as this channel would (segments on SMS, buttons on Telegram).",
)
def chat(language: str | None, flow: str | None, address: str, channel: str) -> None:
    """Talk to the flows in the terminal, stored on the configured database."""
    import bot.chat as terminal
    from bot.services import conversation_service

    settings = load_settings()
    if language is not None:
        settings = settings.with_overrides({"default_language": language})
    database = Database(settings.database_url)
    migrate.upgrade(database.engine)
    service = conversation_service(database, settings)
    session = terminal.ChatSession(service, address, channel, click.echo)
    if flow is not None:
        session.start(flow, language)
    click.echo(terminal.HELP)

    def prompt() -> None:
        click.echo("You: ", nl=False)

    prompt()
    try:
        terminal.run(session, sys.stdin, prompt)
    finally:
        click.echo()
        database.dispose()


@main.group()
def checkins() -> None:
    """Weekly check-ins."""


def now_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--now`, an ISO 8601 instant with its offset, given to the command as `now`."""

    def parse(_context: click.Context, _param: click.Parameter, text: str | None) -> Any:
        return parse_instant(text) if text else None

    return click.option(
        "--now",
        callback=parse,
        help=f"{what} as if it were this time (ISO 8601 with an offset); default: now.",
    )


@checkins.command("tick")
@now_option("Run the pass")
def checkins_tick(now: datetime | None) -> None:
    """Run one scheduler pass: start every check-in that is due."""
    from bot import checkins as scheduler
    from bot.services import conversation_service

    settings = load_settings()
    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        service = conversation_service(database, settings)
        started = scheduler.tick(service, now or clock.now())
    finally:
        database.dispose()
    click.echo(f"{started} check-in(s) handled.")


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset (a bare local time would be ambiguous)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the offset, e.g. 2026-10-26T10:00+01:00", param_hint="--now")
    return moment


@main.group()
def telegram() -> None:
    """Telegram: register the webhook, or poll for local development."""


@telegram.command("set-webhook")
@click.option(
    "--url", help="Where Telegram sends updates [default: $PUBLIC_URL/webhooks/telegram]."
)
def telegram_set_webhook(url: str | None) -> None:
    """Ask Telegram to send messages here, signed with TELEGRAM_WEBHOOK_SECRET."""
    from bot.channels.telegram_poll import TelegramUnavailable, set_webhook, webhook_url

    settings = load_settings()
    target = webhook_url(settings, url)
    try:
        set_webhook(settings, target)
    except TelegramUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Telegram will send updates to {target}.")


@telegram.command("poll")
def telegram_poll() -> None:
    """Receive Telegram messages by polling, for local development (removes the webhook)."""
    from bot.channels.telegram_poll import TelegramUnavailable, poll
    from bot.services import conversation_service

    settings = load_settings()
    if not settings.telegram_enabled:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "must be set to poll Telegram")
    database = Database(settings.database_url)
    migrate.upgrade(database.engine)
    service = conversation_service(database, settings)
    # The worker's dispatcher sends the replies the service queues, as in production.
    background = build_background(settings, Database(settings.database_url))
    worker = Worker(background.tasks, poll_seconds=settings.worker_poll_seconds)
    thread = threading.Thread(target=worker.run, name="relais-worker", daemon=True)
    thread.start()
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    click.echo("Polling Telegram for updates (Ctrl-C to stop).")
    try:
        count = poll(settings, service, stop)
    except TelegramUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        worker.stop()
        thread.join(timeout=10)
        background.close()
        database.dispose()
    click.echo(f"Stopped after {count} update(s).")


@main.group()
def users() -> None:
    """Dashboard accounts."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.WORKER.value,
    show_default=True,
)
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the password from this file instead of prompting.",
)
def users_create(email: str, role: str, password_file: Path | None) -> None:
    """Create a dashboard account (the password is stored hashed).

    The person must replace the password at their first login.
    """
    settings = load_settings()
    password = _read_password(password_file)
    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        with database.write() as session:
            user = create_user(session, email, password, Role(role))
            user_id, user_email = user.id, user.email
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    except sqlalchemy.exc.IntegrityError:
        # Another `users create` for the same address won the race.
        raise click.ClickException(
            f"an account for {email.strip().lower()} already exists"
        ) from None
    finally:
        database.dispose()
    click.echo(
        f"Created {role} account {user_email} (id {user_id}); "
        "they choose their own password at their first login."
    )


@users.command("reset-password")
@click.argument("email")
@click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the new password from this file instead of prompting.",
)
def users_reset_password(email: str, password_file: Path | None) -> None:
    """Give an account a new password, to be changed at its next login.

    Its sessions end, and its login locks are lifted.
    """
    from sqlalchemy import delete, select

    from bot import audit
    from bot.accounts import normalise_email, set_password
    from storage.models import LoginFailure, User

    settings = load_settings()
    password = _read_password(password_file)
    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        with database.write() as session:
            user = session.scalars(
                select(User).where(User.email == normalise_email(email)).with_for_update()
            ).one_or_none()
            if user is None:
                raise click.ClickException(f"no account for {normalise_email(email)}")
            set_password(user, password, must_change=True)
            session.execute(delete(LoginFailure).where(LoginFailure.user_id == user.id))
            audit.record(
                session,
                actor=CLI_ACTOR,
                action=audit.USER_UPDATE,
                target_type="user",
                target_id=user.id,
                detail={"new_password": True},
            )
            user_email = user.email
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    click.echo(
        f"New password for {user_email}, to be changed at their next login; "
        "their sessions are closed."
    )


def _read_password(password_file: Path | None) -> str:
    """The password from `password_file`, or typed twice at a hidden prompt."""
    if password_file is not None:
        return password_file.read_text(encoding="utf-8").rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@main.group()
def contacts() -> None:
    """People's rights: access to their data, and erasure."""


@contacts.command("export")
@click.argument("contact_id", type=int)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the JSON file here instead of to standard output.",
)
def contacts_export(contact_id: int, output: Path | None) -> None:
    """Everything stored about a person, as one JSON file (an access request)."""
    from bot import privacy

    settings = load_settings()
    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        with database.write() as session:
            export = privacy.export_contact(session, contact_id, actor=CLI_ACTOR, now=clock.now())
    except privacy.ContactNotFound as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    if output is None:
        click.echo(privacy.dumps(export), nl=False)
        return
    # The file holds someone's personal data: readable by its owner only.
    output.touch(mode=0o600)
    output.write_text(privacy.dumps(export), encoding="utf-8")
    click.echo(f"Wrote everything stored about contact {contact_id} to {output}.", err=True)


@contacts.command("erase")
@click.argument("contact_id", type=int)
@click.option("--yes", is_flag=True, help="Erase without asking for confirmation.")
def contacts_erase(contact_id: int, yes: bool) -> None:
    """Remove a person's personal data and message texts (anonymous counts stay)."""
    from bot import envelope, privacy

    if not yes:
        click.confirm(
            f"Erase contact {contact_id}'s personal data and messages? This cannot be undone",
            abort=True,
        )
    settings = load_settings()
    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        with database.write() as session:
            erased = privacy.erase_contact(session, contact_id, actor=CLI_ACTOR, now=clock.now())
        if not erased.already_erased:
            envelope.scrub(database)
    except privacy.ContactNotFound as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    if erased.already_erased:
        click.echo(f"Contact {contact_id} was already erased.")
    else:
        click.echo(
            f"Erased contact {contact_id}: {erased.messages} message(s) and "
            f"{erased.cases} case(s) kept as anonymous counts."
        )


@main.command()
@now_option("Purge")
def purge(now: datetime | None) -> None:
    """Erase people with no contact for RELAIS_RETENTION_DAYS; drop old audit entries."""
    from bot import privacy

    settings = load_settings()
    now = now or clock.now()
    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        purged = privacy.purge(
            database,
            now,
            retention=timedelta(days=settings.retention_days),
            audit_retention=timedelta(days=settings.audit_retention_days),
        )
    finally:
        database.dispose()
    click.echo(
        f"Erased {purged.contacts} contact(s) quiet for {settings.retention_days} days; "
        f"deleted {purged.audit_entries} audit entries older than "
        f"{settings.audit_retention_days} days."
    )


@main.group()
def keys() -> None:
    """Encryption keys for data at rest (RELAIS_ENCRYPTION_KEYS)."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new key; put it first in RELAIS_ENCRYPTION_KEYS."""
    from bot.crypto import generate_key

    click.echo(generate_key())


@keys.command("reencrypt")
def keys_reencrypt() -> None:
    """Seal every stored text with the newest key (after adding one, before dropping one)."""
    from bot import crypto

    settings = load_settings()
    if not settings.encryption_keys:
        raise ConfigError(
            "RELAIS_ENCRYPTION_KEYS", "set it first (make a key with `relais keys generate`)"
        )
    database = Database(settings.database_url)
    try:
        require_current_schema(database)
        report = crypto.reencrypt(database, crypto.Keyring(settings.encryption_keys))
    finally:
        database.dispose()
    click.echo(
        f"{sum(report.sealed.values())} unencrypted value(s) sealed, "
        f"{sum(report.rotated.values())} moved to the newest key, "
        f"{sum(report.personal.values())} put under their person's own key "
        f"({report.keys_given} person key(s) made); "
        "every stored text now opens with the first key alone."
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
