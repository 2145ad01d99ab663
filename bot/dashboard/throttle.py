"""How login attempts are slowed: per account and client address in the database, per
client address in memory.

A lock never applies to the whole account: whoever fails from their address locks the
account for that address only, so a stranger cannot keep a worker out.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import deque
from datetime import datetime, timedelta

from flask import current_app

# An account locks for one client address after its fifth wrong password in a row from
# there, for 1 s, then 2, 4, 8… up to 15 minutes: a forgetful worker barely notices, a
# guesser gets a few tries an hour.
FREE_FAILURES = 4
MAX_LOCK = timedelta(minutes=15)
# Failures older than this are forgotten: the count starts again, and the rows go.
FAILURE_MEMORY = timedelta(days=1)
UNKNOWN_CLIENT = "unknown"

DEFAULT_IP_FAILURES = 20
DEFAULT_IP_WINDOW = timedelta(minutes=15)
EXTENSION_KEY = "relais_login_throttle"


def lock_delay(failures: int) -> timedelta | None:
    """How long an account stays locked after `failures` wrong passwords in a row."""
    if failures <= FREE_FAILURES:
        return None
    exponent = failures - FREE_FAILURES - 1
    # 2**10 s already exceeds the cap; stop there so huge counts don't build huge ints.
    return min(timedelta(seconds=2 ** min(exponent, 10)), MAX_LOCK)


def client_key(ip: str | None) -> str:
    """Who is trying, as locks and throttles count: an IPv4 address, or an IPv6 /64.

    One IPv6 subscriber usually holds a whole /64: counting single addresses would let
    them change address at each try.
    """
    if not ip:
        return UNKNOWN_CLIENT
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class IpThrottle:
    """Refuses logins from a client after `limit` failures within `window`, whatever the
    accounts tried; thread-safe. Clients are named by `client_key`.

    In process memory on purpose: it shields the database and the scrypt work from one
    noisy client; the lock per account and client, in the database, is what stops
    guessing one account's password.
    """

    _MAX_CLIENTS = 10_000

    def __init__(self, limit: int = DEFAULT_IP_FAILURES, window: timedelta = DEFAULT_IP_WINDOW):
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str, now: datetime) -> bool:
        """True while `client` has `limit` failures within the window before `now`."""
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return False
            self._forget_old(failures, now)
            return len(failures) >= self.limit

    def record_failure(self, client: str, now: datetime) -> None:
        """Count one failed attempt from `client`."""
        with self._lock:
            if client not in self._failures and len(self._failures) >= self._MAX_CLIENTS:
                self._prune(now)
            failures = self._failures.setdefault(client, deque())
            self._forget_old(failures, now)
            failures.append(now)

    def _forget_old(self, failures: deque[datetime], now: datetime) -> None:
        while failures and failures[0] <= now - self.window:
            failures.popleft()

    def _prune(self, now: datetime) -> None:
        # Many clients at once: drop those whose failures have all expired, and if the
        # map is still full, the quietest ones, so memory stays bounded under a flood.
        for client in list(self._failures):
            self._forget_old(self._failures[client], now)
            if not self._failures[client]:
                del self._failures[client]
        while len(self._failures) >= self._MAX_CLIENTS:
            quietest = min(self._failures, key=lambda c: len(self._failures[c]))
            del self._failures[quietest]


def ip_throttle() -> IpThrottle:
    """The current app's per-client throttle (one per app, so tests don't share it)."""
    throttle: IpThrottle = current_app.extensions[EXTENSION_KEY]
    return throttle
