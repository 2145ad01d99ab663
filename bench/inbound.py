"""Inbound: signed Twilio webhooks through gunicorn, Relais against the stack's ceiling.

    .venv/bin/python bench/inbound.py --database sqlite
    .venv/bin/python bench/inbound.py --database postgresql+psycopg://postgres@127.0.0.1:5432/relais_bench

Both apps run under the same gunicorn settings: the minimal one (bench/minimal_app.py)
only verifies the signature and answers TwiML; Relais stores the message, runs the
conversation and queues the replies. Every request has its own MessageSid; senders go
through first_contact with realistic answers. First each app is saturated (maximum
throughput); then Relais is paced at half the minimal app's maximum to read its p99.
Targets: Relais ≥ half the minimal app's throughput; p99 < 50 ms at that pace.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import urllib.parse

from common import FICTION_PREFIX, free_port, fresh_database, gunicorn
from load import Result, build, paced, saturate
from twilio.request_validator import RequestValidator

AUTH_TOKEN = "bench-auth-token"  # noqa: S105 - a benchmark fixture, not a secret
ACCOUNT_SID = "AC" + "b" * 32
SENDER = "+33639980000"
# What people answer to first_contact, message after message.
ANSWERS = ["Bonjour", "1", "oui", "4", "Lou", "4", "oui", "1", "1", "non", "93200", "1", "2"]


def requests(port: int, count: int, senders: int, first_sid: int) -> list[bytes]:
    """`count` signed webhooks, round-robin over `senders` people, each in conversation order."""
    validator = RequestValidator(AUTH_TOKEN)
    url = f"http://127.0.0.1:{port}/webhooks/twilio"
    built = []
    sids = itertools.count(first_sid)
    for n in range(count):
        sender, turn = n % senders, n // senders
        params = {
            "MessageSid": f"SM{next(sids):032d}",
            "AccountSid": ACCOUNT_SID,
            "From": f"{FICTION_PREFIX}{sender:04d}",
            "To": SENDER,
            "Body": ANSWERS[turn % len(ANSWERS)],
            "NumMedia": "0",
        }
        signature = validator.compute_signature(url, params)
        body = urllib.parse.urlencode(params).encode()
        built.append(
            build("127.0.0.1", port, "/webhooks/twilio", body, {"X-Twilio-Signature": signature})
        )
    return built


def run(app: str, env: dict[str, str], args: argparse.Namespace, pace: float | None) -> Result:
    port = free_port()
    env = {**env, "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    warm = requests(port, 200, 50, first_sid=10**9)
    load = requests(port, args.requests, args.senders, first_sid=0)
    with gunicorn(app, port, env, workers=args.workers, threads=args.threads):
        saturate("127.0.0.1", port, warm, connections=8)
        if pace is None:
            return saturate("127.0.0.1", port, load, connections=args.connections)
        return paced("127.0.0.1", port, load, rate=pace)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--senders", type=int, default=400)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    common_env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "RELAIS_LOG_LEVEL": "WARNING",
    }
    minimal = run("minimal_app:app", common_env, args, pace=None)
    print(f"minimal Flask app       {minimal.describe()}")

    backend = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as folder:
        for phase, pace in (("saturated", None), ("paced", minimal.rate / 2)):
            url = f"sqlite:///{folder}/{phase}.db" if args.database == "sqlite" else args.database
            fresh_database(url).dispose()
            env = {**common_env, "DATABASE_URL": url}
            results[phase] = run("bot.app:create_app()", env, args, pace)
            label = f"Relais {backend} {phase}"
            if pace is not None:
                label += f" at {pace:.0f}/s"
            print(f"{label:<24}{results[phase].describe()}")

    ratio = results["saturated"].rate / minimal.rate
    p99 = results["paced"].percentile(99) * 1000
    print(f"ratio Relais / minimal: {ratio:.2f} (target ≥ 0.50); p99 at half load: {p99:.1f} ms")
    ok = ratio >= 0.5 and p99 < 50 and set(results["saturated"].statuses) == {200}
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
