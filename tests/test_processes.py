"""`relais serve` and `relais worker` as real processes, the way operators run them."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

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
        except (urllib.error.URLError, ConnectionError, TimeoutError):
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
        # What people wrote is in it: readable by its owner only, whatever the umask.
        assert stat.S_IMODE((tmp_path / "relais.db").stat().st_mode) == 0o600
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


def test_serve_behind_a_trusted_proxy_checks_twilio_signatures_on_the_public_url(
    tmp_path: Path,
) -> None:
    """waitress must pass X-Forwarded-* on to the app, as gunicorn does (issue 13, 5)."""
    port = _free_port()
    token = "twilio-test-token"
    process = subprocess.Popen(
        [*RELAIS, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=_environment(
            PYTHONPATH=str(Path(__file__).parents[1]),
            RELAIS_TRUSTED_PROXIES="1",
            TWILIO_ACCOUNT_SID="AC" + "a1" * 16,
            TWILIO_AUTH_TOKEN=token,
            TWILIO_FROM="+33639980000",
            # Nothing listens there: the reply stays queued, nothing leaves the machine.
            TWILIO_API_URL=f"http://127.0.0.1:{_free_port()}",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_health(port, process)
        form = {
            "From": "+33639981234",
            "To": "+33639980000",
            "Body": "bonjour",
            "MessageSid": "SM" + "b2" * 16,
            "AccountSid": "AC" + "a1" * 16,
            "NumMedia": "0",
        }
        public = "https://relais.example.org/webhooks/twilio"
        signature = RequestValidator(token).compute_signature(public, form)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks/twilio",
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "X-Twilio-Signature": signature,
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "relais.example.org",
                "X-Forwarded-For": "203.0.113.7",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
