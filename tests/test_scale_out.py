"""Several web processes and several workers on one PostgreSQL database, under a burst."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Direction, Message, OutboxItem
from tests.fakes.twilio import AUTH_TOKEN, FakeTwilio, inbound_params, sign

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

SENDERS = 60
MESSAGES_EACH = 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cluster(database_url: str, fake_twilio: FakeTwilio) -> Iterator[str]:
    """Two gunicorn web workers and two `relais worker` processes; yields the web URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "scale-out-test-secret-key",
        "PUBLIC_URL": base,
        "RELAIS_WORKER_POLL_SECONDS": "0.1",
        "RELAIS_TWILIO_SMS_RATE": "1000",
        "RELAIS_LOG_LEVEL": "WARNING",
        **{
            key.upper(): str(value)
            for key, value in {
                "twilio_account_sid": fake_twilio.settings_overrides()["twilio_account_sid"],
                "twilio_auth_token": AUTH_TOKEN,
                "twilio_from": fake_twilio.settings_overrides()["twilio_from"],
                "twilio_api_url": fake_twilio.url,
            }.items()
        },
    }
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "bot.app:create_app()",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            # Connection refused before it listens; a timeout while it loads the app.
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        yield base
    finally:
        for process in [web, *workers]:
            process.send_signal(signal.SIGTERM)
        for process in [web, *workers]:
            process.wait(timeout=30)


def _post(base: str, params: dict[str, str]) -> int:
    signature = sign(f"{base}/webhooks/twilio", params)
    request = urllib.request.Request(
        f"{base}/webhooks/twilio",
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return int(answer.status)


def test_a_burst_through_several_processes_loses_and_doubles_nothing(
    cluster: str, db: Database, fake_twilio: FakeTwilio
) -> None:
    burst = [
        inbound_params(text, from_=f"+336399810{sender:02d}", sid=f"SM{sender:04d}{n:028d}")
        for sender in range(SENDERS)
        for n, text in enumerate(["Bonjour", "1", "oui"][:MESSAGES_EACH])
    ]
    # Twilio retries: every webhook of the first sender arrives twice.
    burst += [params for params in burst if params["From"].endswith("00")]
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda params: _post(cluster, params), burst))
    assert set(statuses) == {200}

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with db.read() as session:
            pending = session.scalar(select(func.count()).select_from(OutboxItem))
            unhandled = session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.direction == Direction.IN, Message.status == "received")
            )
        if pending == 0 and unhandled == 0:
            break
        time.sleep(0.5)
    with db.read() as session:
        inbound = session.scalars(
            select(Message.provider_id).where(Message.direction == Direction.IN)
        ).all()
        outbound = session.execute(
            select(Message.provider_id, Message.status).where(Message.direction == Direction.OUT)
        ).all()
    # Every message in stored once, every message out sent once.
    assert len(inbound) == SENDERS * MESSAGES_EACH
    assert len(set(inbound)) == len(inbound)
    assert outbound
    assert {status for _, status in outbound} == {"sent"}
    sids = [str(received.sid) for received in fake_twilio.sent]
    assert len(sids) == len(outbound)
    assert sorted(sids) == sorted(str(provider_id) for provider_id, _ in outbound)
