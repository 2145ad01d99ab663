"""Token buckets: how fast a dispatcher may send, overall and to one address."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; thread-safe."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; return how many seconds to wait before using it (0: now)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Wait until a token is available, then take it."""
        delay = self.reserve()
        if delay > 0:
            sleep(delay)


class KeyedLimiter:
    """One minimum interval per key (a chat, a phone number): when may the next send go."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_for(self, key: str) -> float:
        """Seconds before `key` may be sent to; 0 means now, and the slot is taken."""
        with self._lock:
            now = self._clock()
            ready = self._next.get(key, 0.0)
            if ready > now:
                return ready - now
            self._next[key] = now + self.interval
            if len(self._next) > 10_000:
                # Forget addresses whose slot has passed so the map stays small.
                self._next = {k: v for k, v in self._next.items() if v > now}
            return 0.0
