"""A conversation interrupted after any step resumes correctly in a new process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# French first contact through the check-in sub-flow (a run with a parent on its stack),
# with an invalid answer on the way (the retry count is part of the stored state).
ANSWERS = ["Bonjour", "1", "oui", "peut-être", "5", "Lou", "4", "oui", "2", "1", "non", "93200"]
ANSWERS += ["1", "4"]


def _chat(database_url: str, address: str, lines: list[str]) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--as", address],
        input="".join(f"{line}\n" for line in lines),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    # Only what Relais sent: drop prompts, the help line, and case ids (they differ).
    lines_shown = (line.replace("You: ", "") for line in result.stdout.splitlines())
    return "\n".join(
        line for line in lines_shown if line.strip() and not line.startswith("Type an answer")
    )


def test_every_step_resumes_in_a_new_process(database_url: str) -> None:
    one_process = _chat(database_url, "+33639981001", ANSWERS)
    one_process_per_message = "\n".join(
        _chat(database_url, "+33639981002", [answer]) for answer in ANSWERS
    )
    assert "new_intake" in one_process
    assert one_process_per_message.replace("#2", "#1") == one_process
