"""Dispatch: outbox rows sent per second by 1 and by 4 `relais worker` processes (PostgreSQL).

    .venv/bin/python bench/dispatch.py --database postgresql+psycopg://postgres@127.0.0.1:5432/relais_bench

The fake Telegram Bot API (tests/fakes/telegram.py) answers every sendMessage after
--latency seconds (50 ms by default, about what a real API across the Internet takes),
with its rate limit lifted: this measures how the dispatchers scale, not Telegram. The
rate is counted from the first message the fake receives to the last, so the workers'
start-up (imports, loading the flows) is not counted as sending time.
Target: 4 workers send at least 3 times as fast as 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from common import fresh_database

from tests.fakes.telegram import FakeTelegram
from tests.support.bulk import fill_outbox


def run(database_url: str, workers: int, people: int, per_person: int, latency: float) -> float:
    """Rows sent per second by `workers` processes draining a full outbox."""
    database = fresh_database(database_url)
    fill_outbox(database, people, per_person)
    database.dispose()
    fake = FakeTelegram(latency=latency)
    fake.start()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "RELAIS_TELEGRAM_RATE": "10000",
        "RELAIS_TELEGRAM_PER_CHAT_RATE": "10000",
        "RELAIS_LOG_LEVEL": "WARNING",
    }
    total = people * per_person
    started = time.monotonic()
    processes = [
        subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], env=env)
        for _ in range(workers)
    ]
    try:
        while len(fake.sent) < total:
            if time.monotonic() - started > 600:
                raise RuntimeError(f"only {len(fake.sent)} of {total} sent in 10 minutes")
            time.sleep(0.01)
        # time.monotonic(), as the fake records each request's arrival.
        elapsed = time.monotonic() - fake.calls("sendMessage")[0].at
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        fake.stop()
    return total / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (it is emptied)")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--per-person", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    rates = {}
    for workers in (1, 4):
        rates[workers] = run(args.database, workers, args.people, args.per_person, args.latency)
        print(f"dispatch with {workers} worker(s): {rates[workers]:7.0f} rows/s")
    ratio = rates[4] / rates[1]
    print(f"4 workers / 1 worker: {ratio:.1f}× (target ≥ 3×)")
    print("target met" if ratio >= 3 else "TARGET MISSED")
    return 0 if ratio >= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
