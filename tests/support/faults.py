"""Relais as deployed (gunicorn + a `relais worker`) on PostgreSQL, against a fake Twilio,
while something goes wrong: the database's connections killed every half second, or the
worker killed outright. Shared by tests/test_faults.py and bench/faults.py.

What is counted, from the outside and from the database:
- webhooks answered 5xx (Twilio does not resend an inbound SMS after one);
- lost: a webhook answered but its message not stored, a stored message never handled,
  a reply never sent;
- doubled: requests Twilio accepted beyond one per reply (the fake sees every request).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from storage.db import Database
from storage.models import Direction, Message, MessageStatus, OutboxItem
from tests.fakes.twilio import AUTH_TOKEN, FakeTwilio, inbound_params, sign

# +33 6 39 98 xx xx: fiction numbers; 10,000 people at most per run.
FICTION = "+3363998"


@dataclass
class Counts:
    """What a run did, and what it lost or doubled."""

    webhooks: int = 0
    answered_5xx: int = 0
    stored: int = 0
    unhandled: int = 0
    replies: int = 0
    unsent: int = 0
    accepted_by_provider: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        # A webhook answered 5xx is lost too: Twilio does not send an inbound SMS again.
        return (self.webhooks - self.stored) + self.unhandled + self.unsent

    @property
    def doubled(self) -> int:
        return self.accepted_by_provider - (self.replies - self.unsent)

    def line(self) -> str:
        return (
            f"webhooks {self.webhooks} (5xx: {self.answered_5xx}), stored {self.stored}, "
            f"replies {self.replies}: lost {self.lost}, doubled {self.doubled}"
        )


class Deployment:
    """A gunicorn web app and one `relais worker`, on `database_url`, sending to `fake`."""

    def __init__(self, database_url: str, fake: FakeTwilio, port: int, *, lease: float) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.port = port
        overrides = fake.settings_overrides()
        self.env: Mapping[str, str] = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "fault-injection-secret-key",
            # As in production: texts sealed with each person's key (bot.envelope).
            "RELAIS_ENCRYPTION_KEYS": Fernet.generate_key().decode("ascii"),
            "PUBLIC_URL": self.base,
            "RELAIS_WORKER_POLL_SECONDS": "0.1",
            "RELAIS_TWILIO_SMS_RATE": "1000",
            "RELAIS_DISPATCH_LEASE_SECONDS": f"{lease:g}",
            "RELAIS_LOG_LEVEL": "ERROR",
            "TWILIO_ACCOUNT_SID": str(overrides["twilio_account_sid"]),
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM": str(overrides["twilio_from"]),
            "TWILIO_API_URL": fake.url,
        }
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.web = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", "2", "--threads", "8", "--worker-class", "gthread",
                "--log-level", "error",
                "bot.app:create_app()",
            ],
            env=dict(self.env),
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.start_worker()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2):
                    return
            except OSError:  # refused, reset or timed out while it starts
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            env=dict(self.env),
            stdout=subprocess.DEVNULL,
        )

    def kill_worker(self) -> None:
        """SIGKILL: no cleanup, rows in flight stay claimed until their lease ends."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(timeout=30)

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (self.web, self.worker):
            if process is not None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()

    def post(self, params: Mapping[str, str]) -> int:
        signature = sign(f"{self.base}/webhooks/twilio", params)
        request = urllib.request.Request(
            f"{self.base}/webhooks/twilio",
            data=urllib.parse.urlencode(params).encode(),
            headers={"X-Twilio-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


@contextmanager
def deployment(
    database_url: str, fake: FakeTwilio, port: int, *, lease: float = 25.0
) -> Iterator[Deployment]:
    running = Deployment(database_url, fake, port, lease=lease)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def connections_killed(database_url: str, every: float = 0.5) -> Iterator[list[int]]:
    """Terminate every other connection to the database every `every` seconds, as a
    failover or an administrator would; yields the running count of connections killed."""
    killed = [0]
    stop = threading.Event()
    admin = Database(database_url)

    def run() -> None:
        while not stop.wait(every):
            with admin.engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend'"
                    )
                ).all()
                connection.commit()
            killed[0] += len(rows)

    thread = threading.Thread(target=run, name="connection-killer", daemon=True)
    thread.start()
    try:
        yield killed
    finally:
        stop.set()
        thread.join()
        admin.dispose()


def burst(running: Deployment, people: int, *, first: int = 0, messages: int = 2) -> list[int]:
    """`people` new people each write `messages` messages, in order; the webhooks' statuses."""
    texts = ["Bonjour", "1", "oui"][:messages]

    def person(n: int) -> list[int]:
        number = f"{FICTION}{first + n:04d}"
        return [
            running.post(inbound_params(body, from_=number, sid=f"SM{first + n:08d}{k:024d}"))
            for k, body in enumerate(texts)
        ]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return [status for statuses in pool.map(person, range(people)) for status in statuses]


def settle(database: Database, seconds: float) -> None:
    """Wait until every stored message is handled and the outbox is empty."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with database.read() as session:
                pending = session.scalar(select(func.count()).select_from(OutboxItem))
                waiting = session.scalar(
                    select(func.count())
                    .select_from(Message)
                    .where(
                        Message.direction == Direction.IN,
                        Message.status == MessageStatus.RECEIVED,
                    )
                )
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            continue  # this reader's connection was killed too
        if not pending and not waiting:
            return
        time.sleep(0.5)


def count(database: Database, fake: FakeTwilio, statuses: list[int]) -> Counts:
    with database.read() as session:
        inbound = session.execute(
            select(Message.status, func.count())
            .where(Message.direction == Direction.IN)
            .group_by(Message.status)
        ).all()
        outbound = session.execute(
            select(Message.status, func.count())
            .where(Message.direction == Direction.OUT)
            .group_by(Message.status)
        ).all()
    stored = {str(status): int(n) for status, n in inbound}
    replies = {str(status): int(n) for status, n in outbound}
    return Counts(
        webhooks=len(statuses),
        answered_5xx=sum(1 for status in statuses if status >= 500),
        stored=sum(stored.values()),
        unhandled=sum(n for status, n in stored.items() if status != MessageStatus.HANDLED),
        replies=sum(replies.values()),
        unsent=sum(n for status, n in replies.items() if status != MessageStatus.SENT),
        accepted_by_provider=len(fake.sent),
        statuses=Counter(statuses),
    )
