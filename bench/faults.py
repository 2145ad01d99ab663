"""Faults: Relais as deployed (gunicorn + `relais worker`) on PostgreSQL, against a fake
Twilio, while the database's connections are killed, then while the worker is.

    .venv/bin/python bench/faults.py --database postgresql+psycopg://postgres@127.0.0.1:5432/relais_bench

1. Connection kill: `pg_terminate_backend` on every connection to the database every
   0.5 s while 3,000 new people write their first message (and get their replies).
   Target: 0 webhooks answered 5xx, 0 messages lost, 0 sent twice.
2. SIGKILL: the worker killed three times (and restarted) while about 2,000 replies are
   being sent. Target: 0 lost; sent twice at most the rows the killed worker had in
   flight (claimed, perhaps handed to the provider, not yet recorded).
"""

from __future__ import annotations

import argparse
import threading
import time

from common import free_port, fresh_database
from sqlalchemy import func, select

from bot import clock
from storage.db import Database
from storage.models import OutboxItem
from tests.fakes.twilio import FakeTwilio
from tests.support.faults import Counts, burst, connections_killed, count, deployment, settle

LEASE = 25.0  # seconds; rows the killed worker held wait this long


def connection_kill(database_url: str, people: int) -> tuple[Counts, int]:
    database = fresh_database(database_url)
    fake = FakeTwilio()
    fake.start()
    try:
        with deployment(database_url, fake, free_port(), lease=LEASE) as running:
            with connections_killed(database_url) as killed:
                statuses = burst(running, people, messages=1)
                settle(database, 120)
            settle(database, 120)
        return count(database, fake, statuses), killed[0]
    finally:
        fake.stop()
        database.dispose()


def worker_kill(database_url: str, people: int, kills: int) -> tuple[Counts, int]:
    database = fresh_database(database_url)
    fake = FakeTwilio()
    fake.start()
    in_flight = 0
    try:
        with deployment(database_url, fake, free_port(), lease=LEASE) as running:
            statuses: list[int] = []
            sender = threading.Thread(
                target=lambda: statuses.extend(burst(running, people, messages=2))
            )
            sender.start()
            for _ in range(kills):
                time.sleep(1.0)
                # Killed while it holds rows: the case where a send can be doubled.
                deadline = time.monotonic() + 10
                while not _claimed(database) and time.monotonic() < deadline:
                    time.sleep(0.01)
                running.kill_worker()
                in_flight += _claimed(database)
                running.start_worker()
            sender.join()
            settle(database, LEASE * 4 + 120)
        return count(database, fake, statuses), in_flight
    finally:
        fake.stop()
        database.dispose()


def _claimed(database: Database) -> int:
    """Rows claimed and not yet recorded: what the killed worker had in flight."""
    with database.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.claimed_until > clock.now())
            )
            or 0
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (it is emptied)")
    parser.add_argument("--people", type=int, default=3000, help="first messages, run 1")
    parser.add_argument("--replying", type=int, default=340, help="people writing twice, run 2")
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()

    counts, killed = connection_kill(args.database, args.people)
    print(f"connection kill: {killed} connections killed; {counts.line()}")
    ok = counts.answered_5xx == 0 and counts.lost == 0 and counts.doubled == 0

    counts, in_flight = worker_kill(args.database, args.replying, args.kills)
    print(
        f"worker SIGKILL x{args.kills}: {counts.line()}; rows in flight at the kills: {in_flight}"
    )
    ok = ok and counts.answered_5xx == 0 and counts.lost == 0 and counts.doubled <= in_flight
    print("targets met" if ok else "TARGET MISSED")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
