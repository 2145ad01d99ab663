"""Relais as deployed, while PostgreSQL's connections are killed every half second.

A smaller run of bench/faults.py (3,000 first messages there): nothing answered 5xx,
nothing lost, nothing sent twice.
"""

from __future__ import annotations

import socket

import pytest

from storage.db import Database
from tests.fakes.twilio import FakeTwilio
from tests.support.faults import burst, connections_killed, count, deployment, settle

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_killing_the_database_connections_loses_and_doubles_nothing(
    database_url: str, db: Database, fake_twilio: FakeTwilio
) -> None:
    with deployment(database_url, fake_twilio, _free_port()) as running:
        with connections_killed(database_url) as killed:
            statuses = burst(running, 150)
            settle(db, 60)
        settle(db, 60)
    counts = count(db, fake_twilio, statuses)
    print(f"connections killed {killed[0]}; {counts.line()}")
    assert killed[0] > 0
    assert counts.answered_5xx == 0
    assert counts.lost == 0
    assert counts.doubled == 0
    assert counts.stored == 300
