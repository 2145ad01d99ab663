"""`relais telegram poll` and `relais telegram set-webhook`, as a developer runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.fakes import telegram as build
from tests.fakes.telegram import TOKEN, WEBHOOK_SECRET, FakeTelegram

pytestmark = pytest.mark.slow


def test_poll_receives_answers_and_stops_on_sigterm(
    database_url: str, fake_telegram: FakeTelegram
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": fake_telegram.url,
        "RELAIS_WORKER_POLL_SECONDS": "0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "telegram", "poll"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fake_telegram.push(build.text_update("Bonjour", language_code="pt"))
        # The reply (the language menu, in Portuguese) reaches the fake through the
        # dispatcher that `poll` runs beside the poller.
        sent = fake_telegram.wait_for_sent(1, timeout=30)
        assert sent[0].chat_id in {build.CHAT_ID, str(build.CHAT_ID)}
        assert "Olá" in sent[0].text
        assert ["Português"] in sent[0].buttons
        assert fake_telegram.webhook is None  # the webhook was removed first
    finally:
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert time.monotonic() - started < 10
    assert "Stopped after 1 update(s)." in out


def test_set_webhook_registers_the_public_url_with_the_secret(fake_telegram: FakeTelegram) -> None:
    result = CliRunner(
        env={
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TELEGRAM_API_URL": fake_telegram.url,
            "PUBLIC_URL": "https://relais.example.org",
        }
    ).invoke(main, ["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert "https://relais.example.org/webhooks/telegram" in result.output
    assert fake_telegram.webhook is not None
    assert fake_telegram.webhook["url"] == "https://relais.example.org/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == WEBHOOK_SECRET


def test_poll_without_a_token_names_the_variable(database_url: str) -> None:
    result = CliRunner(env={"DATABASE_URL": database_url}).invoke(main, ["telegram", "poll"])
    assert result.exit_code == 2
    assert "TELEGRAM_BOT_TOKEN" in result.output
