"""The background worker loop, one pass at a time."""

from __future__ import annotations

import threading
from datetime import datetime

from bot.worker import Task, Worker

from .conftest import FROZEN_AT


def test_it_runs_each_due_task_once_per_pass() -> None:
    seen: list[datetime] = []

    def record(now: datetime) -> int:
        seen.append(now)
        return 3

    worker = Worker([Task("record", record, every=60)])
    assert worker.run_once(FROZEN_AT) == {"record": 3}
    # Not due again for a minute.
    assert worker.run_once(FROZEN_AT) == {}
    assert seen == [FROZEN_AT]


def test_a_failing_task_backs_off_without_stopping_the_others() -> None:
    calls = {"broken": 0, "healthy": 0}

    def broken(_now: datetime) -> int:
        calls["broken"] += 1
        raise RuntimeError("provider exploded")

    def healthy(_now: datetime) -> int:
        calls["healthy"] += 1
        return 0

    worker = Worker([Task("broken", broken, every=0), Task("healthy", healthy, every=0)])
    worker.run_once(FROZEN_AT)
    worker.run_once(FROZEN_AT)
    assert calls == {"broken": 1, "healthy": 2}


def test_stop_ends_the_loop_promptly() -> None:
    worker = Worker([], poll_seconds=30)
    thread = threading.Thread(target=worker.run)
    thread.start()
    worker.stop()
    thread.join(timeout=2)
    assert not thread.is_alive()


def test_a_slow_task_does_not_hold_up_the_others() -> None:
    release = threading.Event()
    quick_runs = threading.Event()

    def slow(_now: datetime) -> int:
        release.wait(timeout=10)
        return 0

    def quick(_now: datetime) -> int:
        quick_runs.set()
        return 0

    worker = Worker([Task("slow", slow, every=0), Task("quick", quick, every=0)], poll_seconds=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        # The quick task runs while the slow one is still busy.
        assert quick_runs.wait(timeout=5)
    finally:
        release.set()
        worker.stop()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_busy_neighbour_does_not_make_a_slow_task_run_early() -> None:
    daily_runs: list[datetime] = []
    busy_runs = 0

    def daily(now: datetime) -> int:
        daily_runs.append(now)
        return 0

    def busy(_now: datetime) -> int:
        nonlocal busy_runs
        busy_runs += 1
        return 1 if busy_runs < 200 else 0

    worker = Worker([Task("busy", busy, every=0), Task("daily", daily, every=86400)])
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = threading.Event()
        deadline.wait(1.0)
    finally:
        worker.stop()
        thread.join(timeout=5)
    assert busy_runs >= 200
    assert len(daily_runs) == 1
