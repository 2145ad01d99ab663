"""What the benchmarks share: a fresh database, and a gunicorn to run an app under load."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import text

from storage import migrate
from storage.db import Database

FICTION_PREFIX = "+3363998"  # +33 6 39 98 xx xx: numbers reserved for fiction
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The benchmarks reuse the test suite's fake providers and bulk fillers.
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def fresh_database(url: str) -> Database:
    """Empty the database and migrate it (never point a benchmark at real data)."""
    database = Database(url)
    if database.is_postgresql:
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(database.engine)
    return database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def gunicorn(
    app: str, port: int, env: Mapping[str, str], *, workers: int, threads: int
) -> Iterator[subprocess.Popen[bytes]]:
    """`app` served by gunicorn (gthread) on 127.0.0.1:port, stopped at the end."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--threads", str(threads),
            "--worker-class", "gthread",
            "--log-level", "warning",
            app,
        ],
        env={**os.environ, **env},
        cwd=os.path.dirname(os.path.abspath(__file__)),
    )  # fmt: skip
    try:
        wait_for_port(port)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
