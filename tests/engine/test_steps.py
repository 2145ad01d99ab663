"""Every step type against its test data in tests/engine/testdata/<type>.yaml.

A test data file holds a tiny `flow` (plus optional other `flows`) and `cases`, each a list of
turns (`start`, `in`, `timeout`, as in golden files) with the exact `events` of each sprint.
`--update-golden` rewrites the `cases:` section (everything above it is kept as written).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.events import Event
from bot.engine.flow import Flow, FlowLibrary, flow_from_node
from bot.engine.problems import FlowError, FlowProblem
from bot.engine.runner import Runner
from bot.engine.steps import REGISTRY
from tests.engine.fakes import TRANSLATIONS
from tests.engine.golden import Conversation, parse_now, play_turn

TESTDATA = Path(__file__).parent / "testdata"
DEFAULT_NOW = "2026-11-25T10:30:00+01:00"


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    return None


def load_testdata(path: Path) -> tuple[FlowLibrary, str, dict[str, Any]]:
    """The flows of a test data file (real line numbers), the main flow's name, and the data."""
    source = path.read_text(encoding="utf-8")
    root = yaml.compose(source, Loader=yaml.SafeLoader)
    main = _child(root, "flow")
    others = _child(root, "flows")
    nodes = [main, *(others.value if isinstance(others, yaml.SequenceNode) else [])]
    problems: list[FlowProblem] = []
    flows: list[Flow] = []
    for node in nodes:
        flow = None if node is None else flow_from_node(node, str(path), None, problems)
        if flow is not None:
            flows.append(flow)
    if problems or not flows:
        raise FlowError(problems)
    return FlowLibrary({flow.name: flow for flow in flows}), flows[0].name, yaml.safe_load(source)


def play_case(library: FlowLibrary, flow: str, case: dict[str, Any]) -> list[dict[str, Any]]:
    """Play a case; return its turns with the events each produced."""
    conversation = Conversation(
        runner=Runner(library, TRANSLATIONS),
        language=str(case.get("language", "en")),
        fields=dict(case.get("contact") or {}),
        now=parse_now(case.get("now", DEFAULT_NOW)),
        timezone=str(case.get("timezone", "UTC")),
    )
    turns = []
    for turn in case["turns"]:
        sprint = play_turn(conversation, flow, turn)
        for event in sprint.events:
            assert Event.from_json(event.to_json()) == event
        events = [event.to_json() for event in sprint.events]
        turns.append({**{k: v for k, v in turn.items() if k != "events"}, "events": events})
    return turns


def _testdata_files() -> list[Path]:
    return sorted(TESTDATA.glob("*.yaml"))


def test_every_registered_step_type_has_testdata() -> None:
    missing = [name for name in REGISTRY if not (TESTDATA / f"{name}.yaml").is_file()]
    assert not missing, f"step types without tests/engine/testdata/<type>.yaml: {missing}"


def test_every_testdata_file_is_a_registered_step_type() -> None:
    strays = [path.stem for path in _testdata_files() if path.stem not in REGISTRY]
    assert not strays


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_step_module_is_named_like_its_type_and_documents_an_example(name: str) -> None:
    module = importlib.import_module(f"bot.engine.steps.{name}")
    cls = REGISTRY[name]
    assert cls.__module__ == module.__name__
    assert cls.__doc__
    assert "\n" not in cls.__doc__.strip(), "the class docstring is one line"
    example = re.search(r"```yaml\n(.*?)```", module.__doc__ or "", re.S)
    assert example, f"{name}: the module docstring needs a ```yaml example"
    steps = yaml.safe_load(example.group(1))
    ((step_name, mapping),) = steps.items()
    assert name in mapping
    cls.model_validate({**mapping, "name": step_name})


@pytest.mark.parametrize("path", _testdata_files(), ids=lambda path: path.stem)
def test_step_testdata(path: Path, request: pytest.FixtureRequest) -> None:
    library, flow, data = load_testdata(path)
    assert data.get("cases"), f"{path.name} has no cases"
    actual = [
        {**{k: v for k, v in case.items() if k != "turns"}, "turns": play_case(library, flow, case)}
        for case in data["cases"]
    ]
    if actual == data["cases"]:
        return
    if request.config.getoption("--update-golden", default=False):
        rewrite_cases(path, actual)
        return
    for want, got in zip(data["cases"], actual, strict=True):
        assert got == want, f"{path.name}: {want.get('description')}"


class _CasesDumper(yaml.SafeDumper):
    """Events one per line (flow style), the rest in block style."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style="type" in data)


_CasesDumper.add_representer(dict, _represent_dict)


def rewrite_cases(path: Path, cases: list[dict[str, Any]]) -> None:
    """Replace the `cases:` section, keeping the flows above it as written."""
    source = path.read_text(encoding="utf-8")
    start = re.search(r"^cases:", source, re.M)
    head = source[: start.start()] if start else source
    # One event per line, however long: a changed event is then a one-line diff.
    body = yaml.dump(
        {"cases": cases}, Dumper=_CasesDumper, allow_unicode=True, sort_keys=False, width=1000
    )
    path.write_text(head + body, encoding="utf-8")
