"""Golden conversations with the shipped flows and catalogs (tests/flows/golden).

Each file is one person's conversation, in their language, with what they receive, what is
saved and which cases are opened. `pytest --update-golden` rewrites the expectations after
a deliberate change to a flow or a translation: read the diff before keeping it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine.events import MessageCreated
from bot.engine.flow import FlowLibrary, load_library
from bot.engine.runner import Runner
from bot.engine.steps.base import AskStep
from bot.i18n import Catalogs
from bot.paths import flows_dir, locales_dir
from tests.engine.golden import (
    Conversation,
    check_golden,
    find_golden_files,
    golden_params,
    parse_now,
    play_turn,
)

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return load_library(flows_dir())


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(locales_dir())


@pytest.mark.parametrize("path", golden_params(GOLDEN))
def test_golden_conversation(
    path: Path, library: FlowLibrary, catalogs: Catalogs, request: pytest.FixtureRequest
) -> None:
    update = bool(request.config.getoption("--update-golden", default=False))
    check_golden(path, library, catalogs, update=update)


def _steps_that_speak(library: FlowLibrary) -> set[tuple[str, str]]:
    """(flow, step) of every step that sends the person a message."""
    return {
        (flow.name, name)
        for flow in library
        for name, step in flow.steps.items()
        if isinstance(step, AskStep) or step.TYPE == "say"
    }


def _steps_heard(library: FlowLibrary, catalogs: Catalogs) -> set[str]:
    """Names of the steps whose messages some golden conversation receives.

    A message carries its step's name but not its flow's: the test below checks that no
    two flows have a speaking step of the same name, so the name is enough.
    """
    heard: set[str] = set()
    for path in find_golden_files(GOLDEN):
        script = yaml.safe_load(path.read_text(encoding="utf-8"))
        conversation = Conversation(
            runner=Runner(library, catalogs),
            language=str(script.get("language", "fr")),
            fields=dict(script.get("contact") or {}),
            now=parse_now(script.get("now", "2026-11-25T10:30:00+01:00")),
        )
        for turn in script["turns"]:
            sprint = play_turn(conversation, str(script["flow"]), turn)
            heard.update(e.step for e in sprint.events if isinstance(e, MessageCreated))
    return heard


# The inbox flow belongs to the host (bot/conversation.py) and is tested there.
NOT_OURS = frozenset({"inbox"})


def test_every_step_that_speaks_is_heard_in_some_golden_conversation(
    library: FlowLibrary, catalogs: Catalogs
) -> None:
    speaking = [step for flow, step in _steps_that_speak(library) if flow not in NOT_OURS]
    assert len(speaking) == len(set(speaking)), "a speaking step name is used by two flows"
    heard = _steps_heard(library, catalogs)
    unheard = sorted(
        f"{flow}.{step}"
        for flow, step in _steps_that_speak(library)
        if flow not in NOT_OURS and step not in heard
    )
    assert unheard == []


def test_every_shipped_flow_has_a_golden_conversation(library: FlowLibrary) -> None:
    played = {
        yaml.safe_load(path.read_text(encoding="utf-8"))["flow"]
        for path in find_golden_files(GOLDEN)
    }
    reached_as_sub_flows = {"change_language", "checkin_setup", "vae"}
    missing = {flow.name for flow in library} - NOT_OURS - played - reached_as_sub_flows
    assert missing == set()
