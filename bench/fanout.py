"""Fan-out: N enrolments due in the same hour → time until every check-in's outbound row exists.

    .venv/bin/python bench/fanout.py --people 100000 --database sqlite
    .venv/bin/python bench/fanout.py --people 100000 --database postgresql+psycopg://postgres@127.0.0.1:5432/relais_bench

The database is emptied and migrated first (never point it at real data). One scheduler
process runs `relais checkins tick`'s code path; its peak memory is reported too, since a
wave must be handled in batches, not all at once.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from common import fresh_database
from sqlalchemy import func, insert, select

from bot import checkins
from bot.config import Settings
from bot.services import conversation_service
from storage.db import Database
from storage.models import (
    CheckinEnrolment,
    Contact,
    ContactAddress,
    OutboxItem,
)

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # a Monday, 11:00 in Paris


def enrol(database: Database, people: int, chunk: int = 10_000) -> None:
    for first in range(0, people, chunk):
        count = min(chunk, people - first)
        with database.write() as session:
            contact_ids = session.scalars(
                insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                [{"created_at": NOW, "fields": {}, "language": "fr"} for _ in range(count)],
            ).all()
            address_ids = session.scalars(
                insert(ContactAddress).returning(ContactAddress.id, sort_by_parameter_order=True),
                [
                    {
                        "contact_id": contact,
                        "channel": "sms",
                        "address": f"+3363998{first + n:07d}",
                        "created_at": NOW,
                    }
                    for n, contact in enumerate(contact_ids)
                ],
            ).all()
            session.execute(
                insert(CheckinEnrolment),
                [
                    {
                        "contact_id": contact,
                        "status": "active",
                        "channel": "sms",
                        "address_id": address,
                        "language": "fr",
                        "timezone": "Europe/Paris",
                        "weekday": 0,
                        "minute_of_day": 600,
                        # Spread over the hour, as jitter and preferred slots do.
                        "next_due_at": NOW - timedelta(seconds=(first + n) % 3600),
                        "consecutive_missed": 0,
                        "ucla_monthly": False,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for n, (contact, address) in enumerate(
                        zip(contact_ids, address_ids, strict=True)
                    )
                ],
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--target", type=float, default=60.0, help="seconds (exit 1 above)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/fanout.db" if args.database == "sqlite" else args.database
        database = fresh_database(url)
        enrol(database, args.people)
        settings = Settings.from_env({}).with_overrides({"database_url": url})
        service = conversation_service(database, settings)
        started = time.perf_counter()
        handled = checkins.tick(service, NOW)
        elapsed = time.perf_counter() - started
        with database.read() as session:
            queued = session.scalar(select(func.count()).select_from(OutboxItem))
        database.dispose()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    print(
        f"fan-out {backend}: {handled} enrolments, {queued} outbound rows in {elapsed:.1f} s "
        f"({handled / elapsed:.0f}/s); peak memory {peak_mib:.0f} MiB"
    )
    ok = queued == args.people and elapsed <= args.target
    print("target met" if ok else f"TARGET MISSED (all {args.people} rows in ≤ {args.target} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
