"""A danger reply while a 100,000 check-in wave is being sent: does it still leave at once?

    .venv/bin/python bench/danger_wave.py --database postgresql+psycopg://postgres@127.0.0.1:5432/relais_bench

The outbox holds a wave of check-in questions (bulk priority) for 100,000 people, which
a `relais worker` sends to the fake Telegram Bot API at Telegram's real rate (30 a
second, 50 ms an answer). Meanwhile people write "je veux en finir" through the Telegram
webhook of a gunicorn web process. Measured: from the webhook's answer to the reply
reaching the provider. Target: under one second, every time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from common import free_port, fresh_database, gunicorn

from bot.outbox import PRIORITY_BULK
from tests.fakes import telegram as tg
from tests.fakes.telegram import FakeTelegram
from tests.support.bulk import fill_outbox


def post_update(base: str, update: dict[str, object]) -> None:
    request = urllib.request.Request(
        f"{base}/webhooks/telegram",
        data=json.dumps(update).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": tg.WEBHOOK_SECRET,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def reply_time(fake: FakeTelegram, chat: int, since: float, timeout: float = 30.0) -> float:
    """Seconds from `since` until a message to `chat` reached the fake."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in fake.calls("sendMessage"):
            if str(call.params.get("chat_id")) == str(chat) and call.at >= since:
                return call.at - since
        time.sleep(0.005)
    raise RuntimeError(f"no reply to chat {chat} within {timeout} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (it is emptied)")
    parser.add_argument("--wave", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    database = fresh_database(args.database)
    started = time.perf_counter()
    fill_outbox(database, args.wave, 1, priority=PRIORITY_BULK)
    database.dispose()
    print(f"wave of {args.wave} check-ins queued in {time.perf_counter() - started:.0f} s")

    fake = FakeTelegram(latency=args.latency)
    fake.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": args.database,
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_WEBHOOK_SECRET": tg.WEBHOOK_SECRET,
        "TELEGRAM_API_URL": fake.url,
        "PUBLIC_URL": base,
        "RELAIS_LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"], env={**os.environ, **env}
    )
    times: list[float] = []
    try:
        with gunicorn("bot.app:create_app()", port, env, workers=2, threads=4):
            while len(fake.sent) < 60:  # the wave is under way
                time.sleep(0.1)
            for trial in range(args.trials):
                chat = 700_000 + trial
                since = time.monotonic()
                post_update(base, tg.text_update("je veux en finir", chat_id=chat))
                times.append(reply_time(fake, chat, since))
                time.sleep(1.0)
            sent_during = len(fake.sent)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        fake.stop()
    print(f"wave messages sent meanwhile: {sent_during}")
    print("danger reply times: " + ", ".join(f"{t * 1000:.0f} ms" for t in times))
    worst = max(times)
    print(f"worst: {worst * 1000:.0f} ms (target < 1000 ms)")
    print("target met" if worst < 1.0 else "TARGET MISSED")
    return 0 if worst < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
