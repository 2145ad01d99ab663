"""The runner: sprints, waits, retries, timeouts, sub-flows, limits, and resumable JSON state."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.context import ContactView
from bot.engine.events import Event, MessageCreated, ResultSaved, RunEnded, RunFailed
from bot.engine.flow import FlowLibrary, load_library, parse_flow
from bot.engine.runner import MAX_STEPS_PER_SPRINT, Runner
from bot.engine.state import StateError
from bot.engine.text import IdentityTranslations
from tests.engine.fakes import TRANSLATIONS
from tests.engine.golden import Conversation, parse_now, play_turn

HERE = Path(__file__).parent
FLOWS = HERE / "testdata" / "flows"
NOW = datetime.fromisoformat("2026-11-25T10:30:00+01:00")
SAM = ContactView("en", {"first_name": "Sam"})


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return load_library(FLOWS)


@pytest.fixture
def runner(library: FlowLibrary) -> Runner:
    return Runner(library, IdentityTranslations())


def texts(events: list[Event]) -> list[str]:
    return [event.text for event in events if isinstance(event, MessageCreated)]


def single_flow_runner(source: str) -> Runner:
    flow = parse_flow(source, "inline.yaml")
    return Runner(FlowLibrary({flow.name: flow}), IdentityTranslations())


# --- resuming after a restart ----------------------------------------------------------------


def play_script(path: Path, restart_every_turn: bool) -> tuple[list[list[dict[str, Any]]], Any]:
    """Play a golden file's turns; with restarts, each turn gets a new runner and library."""
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    conversation = Conversation(
        runner=Runner(load_library(FLOWS), TRANSLATIONS),
        language=script["language"],
        fields=dict(script.get("contact") or {}),
        now=parse_now(script["now"]),
        through_json=restart_every_turn,
    )
    sprints = []
    for turn in script["turns"]:
        if restart_every_turn:
            # A new process: nothing survives but the stored JSON text and the contact row.
            conversation.runner = Runner(load_library(FLOWS), TRANSLATIONS)
        sprint = play_turn(conversation, script["flow"], turn)
        sprints.append([event.to_json() for event in sprint.events])
    return sprints, (conversation.state, conversation.results, conversation.fields)


@pytest.mark.parametrize(
    "path", sorted((HERE / "golden").glob("*.yaml")), ids=lambda path: path.stem
)
def test_a_conversation_interrupted_after_every_step_resumes_identically(path: Path) -> None:
    assert play_script(path, restart_every_turn=True) == play_script(path, restart_every_turn=False)


def test_state_is_plain_json(runner: Runner) -> None:
    sprint = runner.start("intake", ContactView("en", {}), NOW)
    for answer in ("2", "Léa", "3", "75011", "yes"):
        assert sprint.state is not None
        sprint = runner.resume(sprint.state, ContactView("en", {}), answer, NOW)

    assert sprint.state == {
        "version": 1,
        "flow": "vae_short",
        "step": "job",
        "stack": [{"flow": "intake", "then": "checkin_day"}],
        "results": {"language": "en", "weeks": 3, "vae": True},
        "asked_at": "2026-11-25T10:30:00+01:00",
        "invalid": 0,
        "timeouts_done": 0,
    }
    assert json.loads(json.dumps(sprint.state, allow_nan=False)) == sprint.state


def test_resume_does_not_change_the_state_it_is_given(runner: Runner) -> None:
    state = runner.start("intake", SAM, NOW).state
    assert state is not None
    before = copy.deepcopy(state)

    runner.resume(state, SAM, "1", NOW)
    runner.resume(state, SAM, "nonsense", NOW)

    assert state == before


# --- answers, retries, on_fail ---------------------------------------------------------------

RETRIES = """\
flow: retries
steps:
  count:
    ask_number: How many?
    save: results.count
    on_fail: give_up
    next: done
  give_up:
    say: Never mind.
    next: done
  done:
    end:
"""


def test_invalid_answers_are_re_prompted_then_go_to_on_fail_after_the_retry_limit() -> None:
    runner = single_flow_runner(RETRIES)
    sprint = runner.start("retries", SAM, NOW)
    for attempt in (1, 2):
        assert sprint.state is not None
        sprint = runner.resume(sprint.state, SAM, "lots", NOW)
        assert texts(sprint.events) == [
            "Sorry, I did not understand. Please answer with a number.",
            "How many?",
        ]
        assert sprint.state is not None
        assert sprint.state["invalid"] == attempt

    assert sprint.state is not None
    sprint = runner.resume(sprint.state, SAM, "still lots", NOW)

    assert texts(sprint.events) == ["Never mind."]
    assert sprint.outcome == "completed"


def test_without_on_fail_the_run_ends_failed_answers() -> None:
    runner = single_flow_runner(
        RETRIES.replace("    on_fail: give_up\n    next: done", "    retries: 0\n    next: give_up")
    )
    state = runner.start("retries", SAM, NOW).state
    assert state is not None

    sprint = runner.resume(state, SAM, "lots", NOW)

    assert sprint.state is None
    assert sprint.outcome == "failed_answers"


def test_a_valid_answer_saves_the_value_and_the_raw_input(runner: Runner) -> None:
    state = runner.start("checkin", SAM, NOW).state
    assert state is not None

    sprint = runner.resume(state, SAM, "٥", NOW)

    assert sprint.events[0] == ResultSaved("loneliness", "never", "lonely", "٥")


# --- timeouts --------------------------------------------------------------------------------


def test_wait_until_is_the_next_timeout_counted_from_the_first_prompt(runner: Runner) -> None:
    sprint = runner.start("checkin", SAM, NOW)
    assert sprint.wait_until == NOW + timedelta(hours=24)
    assert sprint.state is not None

    later = NOW + timedelta(hours=5)
    sprint = runner.resume(sprint.state, SAM, "purple", later)
    assert sprint.wait_until == NOW + timedelta(hours=24)
    assert sprint.state is not None

    sprint = runner.timeout(sprint.state, SAM, NOW + timedelta(hours=24))
    assert texts(sprint.events) == ["Just checking in, Sam. How often do you feel lonely?"]
    assert sprint.wait_until == NOW + timedelta(hours=72)


def test_a_timeout_that_is_not_due_changes_nothing(runner: Runner) -> None:
    first = runner.start("checkin", SAM, NOW)
    assert first.state is not None

    sprint = runner.timeout(first.state, SAM, NOW + timedelta(hours=23, minutes=59))

    assert sprint.events == []
    assert sprint.state == first.state
    assert sprint.wait_until == first.wait_until


def test_a_late_timeout_goes_on_without_sending_stale_reminders(runner: Runner) -> None:
    state = runner.start("checkin", SAM, NOW).state
    assert state is not None

    sprint = runner.timeout(state, SAM, NOW + timedelta(days=5))

    assert texts(sprint.events) == []
    assert sprint.outcome == "missed"


def test_a_question_without_timeouts_waits_for_ever(runner: Runner) -> None:
    state = runner.start("checkin", SAM, NOW).state
    assert state is not None

    sprint = runner.resume(state, SAM, "3", NOW)

    assert texts(sprint.events) == ["Would you like someone to call you?"]
    assert sprint.wait_until is None


# --- limits and failures ---------------------------------------------------------------------


def test_a_looping_flow_fails_the_run_instead_of_hanging(runner: Runner) -> None:
    sprint = runner.start("looping", SAM, NOW)

    assert sprint.state is None
    assert sprint.events[-2:] == [
        RunFailed(f"more than {MAX_STEPS_PER_SPRINT} steps without waiting: a loop?"),
        RunEnded("failed"),
    ]
    # ping and pong take turns: half of the allowed steps saved a result.
    saved = [event for event in sprint.events if isinstance(event, ResultSaved)]
    assert len(saved) == MAX_STEPS_PER_SPRINT // 2


def test_the_step_limit_counts_per_sprint(library: FlowLibrary) -> None:
    sprint = Runner(library, IdentityTranslations(), max_steps=3).start("checkin", SAM, NOW)
    assert sprint.state is not None  # lonely is the first step: one step, then a wait

    sprint = Runner(library, IdentityTranslations(), max_steps=3).resume(
        sprint.state, SAM, "1", NOW
    )

    assert texts(sprint.events) == ["Would you like someone to call you?"]


def test_a_waiting_step_removed_by_a_deploy_fails_the_run(runner: Runner) -> None:
    state = runner.start("checkin", SAM, NOW).state
    assert state is not None

    sprint = runner.resume({**state, "step": "renamed"}, SAM, "1", NOW)

    assert sprint.events == [
        RunFailed("waiting step checkin/renamed no longer exists"),
        RunEnded("failed"),
    ]


def test_an_unknown_flow_fails_the_run(runner: Runner) -> None:
    sprint = runner.start("nowhere", SAM, NOW)
    assert sprint.events == [RunFailed("unknown flow 'nowhere'"), RunEnded("failed")]


def test_unreadable_state_is_a_state_error(runner: Runner) -> None:
    with pytest.raises(StateError):
        runner.resume({"flow": "checkin"}, SAM, "1", NOW)


def test_now_must_carry_a_timezone(runner: Runner) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        runner.start("checkin", SAM, datetime(2026, 11, 25, 10, 30))


def test_fields_saved_earlier_in_a_sprint_are_seen_by_later_steps() -> None:
    runner = single_flow_runner(
        "flow: seen\nsteps:\n  mark:\n    set: {contact.vip: true}\n    next: route\n"
        "  route:\n    branch: {}\n    next:\n      - when: contact.vip\n        goto: yes_end\n"
        "      - goto: no_end\n  yes_end:\n    end: vip\n  no_end:\n    end: plain\n"
    )
    assert runner.start("seen", SAM, NOW).outcome == "vip"


def test_repeat_sends_the_question_again_without_using_a_retry() -> None:
    runner = single_flow_runner(RETRIES)
    sprint = runner.start("retries", SAM, NOW)
    assert sprint.state is not None
    rejected = runner.resume(sprint.state, SAM, "lots", NOW)
    assert rejected.state is not None

    repeated = runner.repeat(rejected.state, SAM, NOW + timedelta(hours=1))

    assert texts(repeated.events) == ["How many?"]
    assert repeated.state == rejected.state
    assert repeated.wait_until == rejected.wait_until
