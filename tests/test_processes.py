"""`relais serve` and `relais worker` as real processes, the way operators run them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RELAIS = [sys.executable, "-m", "bot.cli"]


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAIS_", "DATABASE_URL"))}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_health(port: int, process: subprocess.Popen[str], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"relais serve exited early: {process.communicate()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                return int(answer.status)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail("relais serve did not answer /healthz in time")


def test_serve_creates_its_sqlite_database_and_answers_healthz(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [*RELAIS, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_environment(PYTHONPATH=str(Path(__file__).parents[1])),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for_health(port, process) == 200
        assert (tmp_path / "relais.db").exists()
        assert (tmp_path / "instance" / "secret_key").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("variable", "value", "args"),
    [
        ("DATABASE_URL", "nonsense://", []),
        ("PORT", "http", []),
        ("RELAIS_TIMEZONE", "Europe/Atlantis", []),
        ("--port", "", ["--port", "eighty"]),
    ],
)
def test_serve_refuses_a_bad_setting_in_one_line(
    tmp_path: Path, variable: str, value: str, args: list[str]
) -> None:
    env = _environment() if variable.startswith("--") else _environment(**{variable: value})
    result = subprocess.run(
        [*RELAIS, "serve", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "relais.db").exists()


def test_worker_refuses_a_database_without_its_schema(tmp_path: Path) -> None:
    result = subprocess.run(
        [*RELAIS, "worker"], cwd=tmp_path, env=_environment(), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "run `relais db upgrade` first" in result.stderr


def test_worker_stops_within_two_seconds_of_sigterm(tmp_path: Path, database_url: str) -> None:
    process = subprocess.Popen(
        [*RELAIS, "worker"],
        cwd=tmp_path,
        env=_environment(RELAIS_WORKER_POLL_SECONDS="30", DATABASE_URL=database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "worker started" in line:
            break
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    assert time.monotonic() - sent < 2.0
    assert process.returncode == 0
    assert "stopping" in process.stderr.read()
