"""Inbound: signed Twilio webhooks through gunicorn, Relais against the stack's ceiling.

    .venv/bin/python bench/inbound.py --database sqlite
    .venv/bin/python bench/inbound.py --database postgresql+psycopg://postgres@127.0.0.1:5432/relais_bench
    .venv/bin/python bench/inbound.py --database sqlite --encrypted   # as in production

Both apps run under the same gunicorn settings (the Procfile's: 2 processes, 4 threads
each): the minimal one (bench/minimal_app.py) only verifies the signature and answers
TwiML; Relais verifies, then stores the message for the worker (which is not running
here: the webhook's answer does not wait for it). Every request has its own MessageSid;
400 senders write the answers of first_contact, interleaved at random, and 350 of them
are new: the run mixes first messages (a new person) with answers (one statement).

Each app is first saturated (maximum throughput), best of --rounds runs on a fresh
database: where the kernel hands the connections decides how evenly the two processes
share the load, and a run can be much slower than the next for that alone. Relais is then
paced at half the minimal app's maximum to read its p99 (the target), and at half its
own maximum (what a deployment sees below saturation).
Targets: Relais ≥ half the minimal app's throughput; p99 < 50 ms at that pace.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import urllib.parse

from common import FICTION_PREFIX, free_port, fresh_database, gunicorn
from cryptography.fernet import Fernet
from load import Result, build, paced, saturate
from twilio.request_validator import RequestValidator

AUTH_TOKEN = "bench-auth-token"  # noqa: S105 - a benchmark fixture, not a secret
ACCOUNT_SID = "AC" + "b" * 32
SENDER = "+33639980000"
# What people answer to first_contact, message after message.
ANSWERS = ["Bonjour", "1", "oui", "4", "Lou", "4", "oui", "1", "1", "non", "93200", "1", "2"]


def requests(port: int, count: int, senders: int, first_sid: int) -> list[bytes]:
    """`count` signed webhooks from `senders` people, each person's in conversation order.

    People's messages are interleaved at random (a fixed seed): conversations start and
    go on side by side, as in an evening rush, rather than every new person at once.
    """
    validator = RequestValidator(AUTH_TOKEN)
    url = f"http://127.0.0.1:{port}/webhooks/twilio"
    order = [n % senders for n in range(count)]
    random.Random(first_sid).shuffle(order)
    turns = [0] * senders
    built = []
    sids = itertools.count(first_sid)
    for sender in order:
        turn, turns[sender] = turns[sender], turns[sender] + 1
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


def best(runs: list[Result]) -> Result:
    """The run with the highest throughput."""
    return max(runs, key=lambda result: result.rate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--senders", type=int, default=400)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--encrypted",
        action="store_true",
        help="set RELAIS_ENCRYPTION_KEYS, as in production: texts sealed with each person's key",
    )
    args = parser.parse_args()

    common_env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "RELAIS_LOG_LEVEL": "WARNING",
    }
    if args.encrypted:
        common_env["RELAIS_ENCRYPTION_KEYS"] = Fernet.generate_key().decode("ascii")
    minimal = best([run("minimal_app:app", common_env, args, None) for _ in range(args.rounds)])
    print(f"minimal Flask app             {minimal.describe()}")

    backend = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    backend += " sealed" if args.encrypted else ""
    with tempfile.TemporaryDirectory() as folder:
        rounds = itertools.count()

        def relais(pace: float | None) -> Result:
            url = args.database
            if url == "sqlite":
                url = f"sqlite:///{folder}/round{next(rounds)}.db"
            fresh_database(url).dispose()
            return run("bot.app:create_app()", {**common_env, "DATABASE_URL": url}, args, pace)

        saturated = best([relais(None) for _ in range(args.rounds)])
        print(f"Relais {backend:<10} saturated   {saturated.describe()}")
        target_pace = minimal.rate / 2
        paced_target = relais(target_pace)
        print(f"Relais at {target_pace:5.0f}/s (half the minimal's) {paced_target.describe()}")
        own_pace = saturated.rate / 2
        paced_own = relais(own_pace)
        print(f"Relais at {own_pace:5.0f}/s (half its own)       {paced_own.describe()}")

    ratio = saturated.rate / minimal.rate
    p99 = paced_target.percentile(99) * 1000
    print(f"ratio Relais / minimal: {ratio:.2f} (target ≥ 0.50); p99 at half load: {p99:.1f} ms")
    statuses = {*saturated.statuses, *paced_target.statuses, *paced_own.statuses}
    ok = ratio >= 0.5 and p99 < 50 and statuses == {200}
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
