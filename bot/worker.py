"""The background worker: runs periodic tasks until asked to stop.

Later issues register the outbox dispatcher, the check-in scheduler, wait timeouts,
silence escalation and the retention purge as tasks. Each task claims its own rows
atomically, so any number of workers may run side by side.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType

from bot import clock

log = logging.getLogger(__name__)

# A task does one pass of its work at `now` and returns how many items it handled.
TaskFunction = Callable[[datetime], int]


@dataclass
class Task:
    """A periodic job: run `function` at most every `every` seconds."""

    name: str
    function: TaskFunction
    every: float
    next_run: float = field(default=0.0, init=False)
    # After an unexpected error, wait longer before the next try so a broken task
    # cannot spin the loop or flood the logs.
    failures: int = field(default=0, init=False)


class Worker:
    """Runs each task in its own thread; `stop()` (or SIGTERM/SIGINT) ends them all.

    Separate threads, because tasks must not wait for one another: a batch of SMS sent
    at the operator's one-message-a-second pace must not hold up a danger reply, nor
    the processing of the message that asked for it.
    """

    def __init__(self, tasks: Sequence[Task], *, poll_seconds: float = 1.0) -> None:
        self.tasks = list(tasks)
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        # One bell per task: rung when another task did something (a processed message
        # has replies to send) or when the worker stops, so idle tasks look at once.
        self._bells = {task.name: threading.Event() for task in self.tasks}

    def stop(self) -> None:
        """Ask the loop to finish its current task and return."""
        self._stop.set()
        self.wake()

    def wake(self) -> None:
        """Make every idle task look for work now."""
        for bell in self._bells.values():
            bell.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """Run every task that is due once; return what each handled."""
        handled: dict[str, int] = {}
        monotonic = time.monotonic()
        for task in self.tasks:
            if self._stop.is_set():
                break
            if task.next_run > monotonic:
                continue
            handled[task.name] = self._run_task(task, now or clock.now())
        return handled

    def _run_task(self, task: Task, now: datetime) -> int:
        try:
            count = task.function(now)
        except Exception:
            task.failures += 1
            backoff = min(max(task.every, 1.0) * 2**task.failures, 300.0)
            log.exception("task %s failed; next try in %.0f s", task.name, backoff)
            task.next_run = time.monotonic() + backoff
            return 0
        task.failures = 0
        task.next_run = time.monotonic() + task.every
        if count:
            log.info("task %s handled %d", task.name, count)
        return count

    def run(self) -> None:
        """Run every task in its own thread until stopped."""
        log.info("worker started with %d task(s)", len(self.tasks))
        threads = [
            threading.Thread(target=self._loop, args=(task,), name=f"task-{task.name}")
            for task in self.tasks
        ]
        for thread in threads:
            thread.start()
        self._stop.wait()
        for thread in threads:
            thread.join()
        log.info("worker stopped")

    def _loop(self, task: Task) -> None:
        bell = self._bells[task.name]
        while not self._stop.is_set():
            bell.clear()
            early = task.next_run - time.monotonic()
            if early > 0:
                # Rung by a busy neighbour before this task's own interval is up (the
                # daily purge must not run on every message): wait for its turn.
                bell.wait(max(early, self.poll_seconds) if task.every else early)
                continue
            handled = self._run_task(task, clock.now())
            if handled:
                # Busy: go straight on, and let the others know there may be work.
                for name, other in self._bells.items():
                    if name != task.name:
                        other.set()
                continue
            bell.wait(max(task.next_run - time.monotonic(), self.poll_seconds))

    def install_signal_handlers(self) -> None:
        """Stop cleanly on SIGTERM (PaaS, systemd) and SIGINT (Ctrl-C)."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
