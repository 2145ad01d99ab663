"""Several `relais worker` processes draining one outbox on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import OutboxItem
from tests.fakes.telegram import FakeTelegram
from tests.support.bulk import fill_outbox

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

PEOPLE = 2500
PER_PERSON = 4  # 10 000 messages


@pytest.fixture
def workers(
    database_url: str, fake_telegram: FakeTelegram, tmp_path: object
) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "dispatch-processes-test-key",
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_URL": fake_telegram.url,
        # The fake's rate limit is lifted: this measures the dispatchers, not Telegram.
        "RELAIS_TELEGRAM_RATE": "10000",
        "RELAIS_TELEGRAM_PER_CHAT_RATE": "10000",
        "RELAIS_WORKER_POLL_SECONDS": "0.1",
        # The shortest lease allowed: longer than Telegram's slowest send (51 s).
        "RELAIS_DISPATCH_LEASE_SECONDS": "52",
        "RELAIS_LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    for _ in range(4):
        start()
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=30)


def _wait_for(
    fake: FakeTelegram, count: int, timeout: float, workers: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + timeout
    while len(fake.sent) < count and time.monotonic() < deadline:
        # A worker that refused its settings exits at once: say so, rather than wait.
        exited = [w.returncode for w in workers if w.poll() not in (None, -signal.SIGKILL)]
        assert not exited, f"a worker exited with {exited}: run `relais worker` by hand"
        time.sleep(0.2)


def _outbox_left(database: Database) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(OutboxItem)) or 0


def _assert_order_per_chat(fake: FakeTelegram) -> None:
    last: dict[str, int] = {}
    for message in fake.sent:
        chat, number = message.text.split(" #")
        assert int(number) >= last.get(chat, -1), f"chat {chat} out of order"
        last[chat] = int(number)


def test_four_dispatchers_send_ten_thousand_rows_exactly_once(
    db: Database, fake_telegram: FakeTelegram, workers: list[subprocess.Popen[bytes]]
) -> None:
    fill_outbox(db, PEOPLE, PER_PERSON)
    _wait_for(fake_telegram, PEOPLE * PER_PERSON, timeout=240, workers=workers)
    sent = Counter(message.text for message in fake_telegram.sent)
    assert len(sent) == PEOPLE * PER_PERSON
    assert set(sent.values()) == {1}
    _assert_order_per_chat(fake_telegram)
    assert _outbox_left(db) == 0


def test_a_dispatcher_killed_mid_batch_loses_nothing(
    db: Database, fake_telegram: FakeTelegram, workers: list[subprocess.Popen[bytes]]
) -> None:
    fill_outbox(db, PEOPLE, PER_PERSON)
    _wait_for(fake_telegram, 2000, timeout=120, workers=workers)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(timeout=10)
    # The others take over its rows once its lease (52 s here) has expired.
    _wait_for(fake_telegram, PEOPLE * PER_PERSON, timeout=240, workers=workers)
    deadline = time.monotonic() + 30
    while _outbox_left(db) and time.monotonic() < deadline:
        time.sleep(0.2)
    sent = Counter(message.text for message in fake_telegram.sent)
    assert len(sent) == PEOPLE * PER_PERSON  # nothing lost
    # Only what was in flight at the kill (at most one batch) may have left twice.
    assert sum(count - 1 for count in sent.values()) <= 50
    _assert_order_per_chat(fake_telegram)
    assert _outbox_left(db) == 0
