"""Engine: flow steps per second in one process, and a web worker's memory after 10,000
conversations.

    .venv/bin/python bench/engine.py

Steps: the pure engine plays whole first_contact and weekly_checkin conversations (JSON
state round-trips included, as between two messages), counting steps as the runner does.
Memory: one process handles 10,000 people's first messages through the conversation
service on SQLite, as a web worker would; its resident memory must stay bounded (no
per-conversation cache grows).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from common import FICTION_PREFIX, fresh_database

from bot.config import Settings
from bot.engine.context import ContactView
from bot.reception import InboundMessage
from bot.runtime import shipped_runtime
from bot.services import conversation_service
from storage.models import Channel

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
FIRST_CONTACT = ["1", "oui", "4", "Lou", "4", "oui", "1", "1", "non", "93200", "1", "2"]
CHECKIN = ["2", "non", "non"]


def rss_mib() -> float:
    """Current resident memory (Linux), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def steps_per_second(seconds: float) -> tuple[float, int]:
    """Play conversations for about `seconds`; return steps a second and conversations."""
    runner = shipped_runtime().runner
    contact = ContactView("fr", {"first_name": "Lou"})
    steps = conversations = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for flow, answers in (("first_contact", FIRST_CONTACT), ("weekly_checkin", CHECKIN)):
            sprint = runner.start(flow, contact, NOW)
            steps += sprint.steps
            for answer in answers:
                if sprint.state is None:
                    break
                state = json.loads(json.dumps(sprint.state))  # as stored between messages
                sprint = runner.resume(state, contact, answer, NOW)
                steps += sprint.steps
            conversations += 1
    return steps / (time.perf_counter() - started), conversations


def memory_after(people: int) -> tuple[float, float]:
    """Resident memory before and after handling `people` first messages."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/engine.db"
        database = fresh_database(url)
        service = conversation_service(
            database, Settings.from_env({}).with_overrides({"database_url": url})
        )
        for n in range(200):  # warm up: every code path loaded once
            service.handle(_first(n, 10**8))
        before = rss_mib()
        for n in range(people):
            service.handle(_first(n, 0))
        after = rss_mib()
        database.dispose()
    return before, after


def _first(n: int, offset: int) -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        address=f"{FICTION_PREFIX}{(n + offset) % 10**7:07d}",
        text="Bonjour",
        received_at=NOW + timedelta(milliseconds=n),
        provider_id=f"SM{n + offset:032d}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--memory-limit", type=float, default=64.0, help="MiB of growth allowed")
    args = parser.parse_args()
    rate, conversations = steps_per_second(args.seconds)
    print(f"engine: {rate:,.0f} steps/s ({conversations} conversations in {args.seconds:.0f} s)")
    before, after = memory_after(args.people)
    growth = after - before
    print(
        f"memory: {before:.0f} MiB before, {after:.0f} MiB after {args.people} conversations "
        f"(+{growth:.0f} MiB)"
    )
    ok = growth <= args.memory_limit
    print("target met" if ok else f"TARGET MISSED (growth above {args.memory_limit:.0f} MiB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
