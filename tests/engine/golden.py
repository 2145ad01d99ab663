"""Golden conversations: play a YAML script of turns against a flow library and compare.

A golden file::

    description: A person answers the loneliness question with an Arabic-Indic digit.
    flow: checkin                       # the flow started by the `start` turn
    language: ar                        # the person's language at the start
    contact: {first_name: Amina}        # the person's fields at the start
    now: "2026-11-25T10:30:00+01:00"    # the clock at the start
    turns:
      - start: true
        out:                            # every message of the sprint, as sent on SMS
                                        # (Unicode isolates shown as ⟦ and ⟧)
          - |-
            How often do you feel lonely?
            1. Often or always
      - in: "٣"                         # an answer; `after: 2h` first moves the clock
        out: [...]
      - timeout: 24h                    # moves the clock, then applies due timeouts
        out: [...]
    expect:
      results: {loneliness: occasionally}
      fields: {}                        # fields saved during the conversation
      cases: [{queue: checkins, priority: high, reason: asked_for_person, summary: ...}]
      outcome: completed                # null while the run still waits
      language: ar

`check_golden(..., update=True)` (pytest `--update-golden`) rewrites `out` and `expect`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.context import ContactView
from bot.engine.events import (
    CaseRequested,
    Event,
    FieldSaved,
    LanguageChanged,
    MessageCreated,
    ResultSaved,
    RunEnded,
)
from bot.engine.flow import FlowLibrary
from bot.engine.model import parse_duration
from bot.engine.runner import Runner, Sprint
from bot.engine.text import LRI, PDI, Translations, numbered

TURN_KINDS = ("start", "in", "timeout")


class GoldenError(Exception):
    """A golden file that cannot be played (bad turn, answer after the end, …)."""


@dataclass
class Conversation:
    """One person talking to a runner; state goes through JSON between every call (by default)."""

    runner: Runner
    language: str
    fields: dict[str, Any]
    now: datetime
    state: dict[str, Any] | None = None
    timezone: str = "UTC"
    results: dict[str, Any] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None
    through_json: bool = True

    @property
    def contact(self) -> ContactView:
        """The person as the host would load them now."""
        return ContactView(self.language, dict(self.fields), self.timezone)

    def start(self, flow: str) -> Sprint:
        """Start a flow."""
        return self._apply(self.runner.start(flow, self.contact, self.now))

    def answer(self, text: str) -> Sprint:
        """Send an answer to the waiting run."""
        if self.state is None:
            raise GoldenError(f"answer {text!r} but no run is waiting")
        return self._apply(self.runner.resume(self.state, self.contact, text, self.now))

    def wait(self, duration: str) -> Sprint:
        """Move the clock forward, then let due timeouts fire."""
        if self.state is None:
            raise GoldenError("timeout but no run is waiting")
        self.now += parse_duration(duration)
        return self._apply(self.runner.timeout(self.state, self.contact, self.now))

    def _apply(self, sprint: Sprint) -> Sprint:
        # What the host does: keep the state as JSON text, apply the events to the person.
        self.state = sprint.state
        if self.through_json and sprint.state is not None:
            self.state = json.loads(json.dumps(sprint.state))
        for event in sprint.events:
            if isinstance(event, FieldSaved):
                self.fields[event.field] = event.value
            elif isinstance(event, ResultSaved):
                self.results[event.name] = event.value
            elif isinstance(event, LanguageChanged):
                self.language = event.language
            elif isinstance(event, CaseRequested):
                self.cases.append(_without_type(event))
            elif isinstance(event, RunEnded):
                self.outcome = event.outcome
        return sprint


def _without_type(event: Event) -> dict[str, Any]:
    data = event.to_json()
    del data["type"]
    return data


# Unicode isolates are invisible; golden files show them so a reviewer can see them.
VISIBLE_ISOLATES = str.maketrans({LRI: "⟦", PDI: "⟧"})


def sent(events: Sequence[Event]) -> list[str]:
    """The messages of a sprint as the person reads them on SMS (isolates shown as ⟦ ⟧)."""
    return [
        numbered(e.text, e.choices).translate(VISIBLE_ISOLATES)
        for e in events
        if isinstance(e, MessageCreated)
    ]


def parse_now(value: Any) -> datetime:
    """An ISO 8601 time (YAML may already have read it as a datetime); must have an offset."""
    now = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if now.tzinfo is None:
        raise GoldenError(f"now {value!r} needs a UTC offset")
    return now


def play_turn(conversation: Conversation, flow: str, turn: dict[str, Any]) -> Sprint:
    """Play one `start` / `in` / `timeout` turn."""
    kinds = [kind for kind in TURN_KINDS if kind in turn]
    if len(kinds) != 1:
        raise GoldenError(f"a turn needs exactly one of {', '.join(TURN_KINDS)}: {turn}")
    if "after" in turn:
        conversation.now += parse_duration(turn["after"])
    if kinds[0] == "start":
        return conversation.start(flow if turn["start"] is True else str(turn["start"]))
    if kinds[0] == "in":
        return conversation.answer(str(turn["in"]))
    return conversation.wait(str(turn["timeout"]))


@dataclass(frozen=True)
class GoldenResult:
    """The golden file as written and as the engine plays it now."""

    path: Path
    expected: dict[str, Any]
    actual: dict[str, Any]

    @property
    def passed(self) -> bool:
        """True when the engine still says exactly what the file expects."""
        return self.expected == self.actual

    def differences(self) -> list[str]:
        """Readable differences, turn by turn, then in `expect`."""
        lines: list[str] = []
        expected_turns = self.expected.get("turns", [])
        for index, turn in enumerate(self.actual["turns"]):
            want = expected_turns[index] if index < len(expected_turns) else {}
            if want.get("out") != turn["out"]:
                lines.append(f"turn {index + 1} {_describe(turn)}:")
                lines.append(f"  expected: {want.get('out')!r}")
                lines.append(f"  actual:   {turn['out']!r}")
        want_expect = self.expected.get("expect") or {}
        for key, value in self.actual["expect"].items():
            if want_expect.get(key) != value:
                lines.append(f"expect.{key}:")
                lines.append(f"  expected: {want_expect.get(key)!r}")
                lines.append(f"  actual:   {value!r}")
        return lines

    def write(self) -> None:
        """Rewrite the file with the actual outputs (comments are not kept: use description)."""
        self.path.write_text(dump_yaml(self.actual), encoding="utf-8")


def _describe(turn: dict[str, Any]) -> str:
    return ", ".join(f"{key}: {turn[key]!r}" for key in (*TURN_KINDS, "after") if key in turn)


def play_golden(path: Path, library: FlowLibrary, translations: Translations) -> GoldenResult:
    """Play a golden file and return what was expected next to what happened."""
    expected = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(expected, dict) or "flow" not in expected or "turns" not in expected:
        raise GoldenError(f"{path}: a golden file needs flow and turns")
    conversation = Conversation(
        runner=Runner(library, translations),
        language=str(expected.get("language", "en")),
        fields=dict(expected.get("contact") or {}),
        now=parse_now(expected.get("now", "2026-11-25T10:30:00+01:00")),
    )
    initial_fields = dict(conversation.fields)
    turns: list[dict[str, Any]] = []
    for turn in expected["turns"]:
        sprint = play_turn(conversation, str(expected["flow"]), turn)
        turns.append({**{k: v for k, v in turn.items() if k != "out"}, "out": sent(sprint.events)})
    actual = {key: value for key, value in expected.items() if key not in ("turns", "expect")}
    actual["turns"] = turns
    actual["expect"] = {
        "results": conversation.results,
        "fields": {
            key: value
            for key, value in conversation.fields.items()
            if initial_fields.get(key, object()) != value
        },
        "cases": conversation.cases,
        "outcome": conversation.outcome,
        "language": conversation.language,
    }
    return GoldenResult(path, expected, actual)


def find_golden_files(directory: Path) -> list[Path]:
    """Golden files of a directory, sorted (for pytest parametrisation)."""
    return sorted(directory.glob("*.yaml"))


def golden_params(directory: Path) -> list[Any]:
    """pytest params, one per golden file, named after the file."""
    return [pytest.param(path, id=path.stem) for path in find_golden_files(directory)]


def check_golden(
    path: Path, library: FlowLibrary, translations: Translations, update: bool = False
) -> None:
    """Fail the test on any difference, or (update) rewrite the file with what happened."""
    result = play_golden(path, library, translations)
    if result.passed:
        return
    if update:
        result.write()
        return
    pytest.fail(
        f"{path.name} differs (--update-golden rewrites it):\n" + "\n".join(result.differences())
    )


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so golden messages read like the SMS they are."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.endswith((" ", "\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    """YAML for humans: key order kept, Unicode as is, block strings."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
