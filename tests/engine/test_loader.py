"""Loading flow files: every problem is collected and reported as file:line: message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.engine.flow import load_flow, load_library, parse_flow
from bot.engine.model import format_duration, parse_duration
from bot.engine.problems import FlowError
from bot.engine.steps.ask_choice import AskChoice
from bot.engine.steps.ask_scale import AskScale

GOOD = """\
flow: sample
steps:
  hello:
    say: Hello.
    next: done
  done:
    end:
"""


def problems_of(tmp_path: Path, source: str, name: str = "sample") -> list[str]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    return [str(problem).removeprefix(f"{path}:") for problem in caught.value.problems]


def test_it_loads_a_flow_with_its_steps_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "sample.yaml"
    path.write_text(GOOD, encoding="utf-8")

    flow = load_flow(path)

    assert flow.name == "sample"
    assert flow.start == "hello"
    assert list(flow.steps) == ["hello", "done"]
    assert flow.steps["done"].line == 6


def test_it_reports_a_target_that_points_nowhere(tmp_path: Path) -> None:
    source = GOOD.replace("next: done", "next: gone")
    assert problems_of(tmp_path, source) == [
        "5: step 'hello': next.0.goto points to 'gone', which is not a step",
        "6: step 'done' is never reached from 'hello'",
    ]


def test_it_reports_a_bad_condition_on_its_line(tmp_path: Path) -> None:
    source = GOOD.replace(
        "next: done", "next:\n      - when: results.a ==\n        goto: done\n      - goto: done"
    )
    assert problems_of(tmp_path, source) == [
        "6: step 'hello': next.0.when: bad condition 'results.a ==': "
        "expected a value, found end of condition (column 13)"
    ]


def test_it_reports_an_unknown_step_type(tmp_path: Path) -> None:
    source = GOOD.replace("say: Hello.", "sya: Hello.")
    assert problems_of(tmp_path, source) == ["4: step 'hello': unknown step type 'sya'"]


def test_it_reports_two_type_keys_in_one_step(tmp_path: Path) -> None:
    source = GOOD.replace("say: Hello.", "say: Hello.\n    ask_text: Name?")
    assert problems_of(tmp_path, source) == [
        "3: step 'hello' has several type keys (say, ask_text): one per step"
    ]


def test_it_collects_every_problem_of_a_file(tmp_path: Path) -> None:
    source = """\
flow: other
steps:
  ask:
    ask_number: How many?
    min: 5
    max: 1
    retries: -1
    colour: blue
    next: done
  choose:
    ask_choice: Which?
    options:
      yes: Yes
      no: No
    next: done
  wait:
    ask_text: Anything?
    timeouts:
      - after: 2 days
        say: Hello?
      - after: 1h
      - after: 30m
        goto: done
    next: done
  done:
    end:
"""
    assert problems_of(tmp_path, source) == [
        "1: flow 'other' must be in sample.yaml",
        "7: step 'ask': retries: Input should be greater than or equal to 0",
        "8: step 'ask': unknown key 'colour'",
        "12: step 'choose': options: option key true is read as a boolean by YAML: quote it",
        "19: step 'wait': timeouts.0.after: expected a duration like 30m, 24h or 3d, not '2 days'",
        "21: step 'wait': timeouts.1: a timeout needs exactly one of say or goto",
    ]


def test_it_checks_whole_steps_after_their_keys(tmp_path: Path) -> None:
    source = GOOD.replace("say: Hello.", "ask_number: How many?\n    min: 5\n    max: 1")
    assert problems_of(tmp_path, source) == ["3: step 'hello': min must not be greater than max"]


def test_it_reports_yaml_syntax_errors_with_their_line(tmp_path: Path) -> None:
    source = GOOD.replace("say: Hello.", "say: [Hello.")
    (problem,) = problems_of(tmp_path, source)
    assert problem.startswith("5: not valid YAML")


def test_it_reports_duplicate_keys(tmp_path: Path) -> None:
    source = GOOD.replace("    next: done\n", "    next: done\n    next: done\n", 1)
    assert problems_of(tmp_path, source) == ["6: duplicate key 'next'"]


def test_it_reports_dead_ends_and_missing_start(tmp_path: Path) -> None:
    source = "flow: sample\nstart: nope\nsteps:\n  hello:\n    say: Hello.\n"
    assert problems_of(tmp_path, source) == ["2: start step 'nope' does not exist"]
    source = "flow: sample\nsteps:\n  hello:\n    say: Hello.\n"
    assert problems_of(tmp_path, source) == [
        "3: step 'hello' has no next: write one, or go to an end step"
    ]


def test_it_rejects_next_on_end_and_start_flow(tmp_path: Path) -> None:
    source = GOOD.replace("    end:\n", "    end:\n    next: hello\n")
    assert problems_of(tmp_path, source) == ["6: step 'done': an end step has no next"]


def test_it_rejects_keys_the_loader_reserves(tmp_path: Path) -> None:
    source = GOOD.replace("say: Hello.", "say: Hello.\n    line: 3")
    assert problems_of(tmp_path, source) == ["5: unknown key 'line'"]


def test_parse_flow_checks_the_name_only_when_given() -> None:
    assert parse_flow(GOOD, "inline.yaml").name == "sample"
    with pytest.raises(FlowError, match=r"inline\.yaml:1: flow 'sample' must be in other\.yaml"):
        parse_flow(GOOD, "inline.yaml", name="other")


def test_a_library_skips_safety_yaml_and_checks_start_flow_names(tmp_path: Path) -> None:
    (tmp_path / "safety.yaml").write_text("lexicon: {}\n", encoding="utf-8")
    (tmp_path / "sample.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "caller.yaml").write_text(
        "flow: caller\nsteps:\n  go:\n    start_flow: sample\n    then: other\n"
        "  other:\n    start_flow: missing\n",
        encoding="utf-8",
    )
    with pytest.raises(FlowError) as caught:
        load_library(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'caller.yaml'}:7: step 'other': start_flow names unknown flow 'missing'"
    ]


def test_a_library_does_not_call_a_broken_flow_unknown(tmp_path: Path) -> None:
    (tmp_path / "sample.yaml").write_text(GOOD.replace("say:", "sya:"), encoding="utf-8")
    (tmp_path / "caller.yaml").write_text(
        "flow: caller\nsteps:\n  go:\n    start_flow: sample\n", encoding="utf-8"
    )
    with pytest.raises(FlowError) as caught:
        load_library(tmp_path)
    assert [p.message for p in caught.value.problems] == ["step 'hello': unknown step type 'sya'"]


def test_a_library_loads_every_flow(tmp_path: Path) -> None:
    (tmp_path / "sample.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "caller.yaml").write_text(
        "flow: caller\nsteps:\n  go:\n    start_flow: sample\n", encoding="utf-8"
    )
    library = load_library(tmp_path)
    assert sorted(library.flows) == ["caller", "sample"]
    assert "sample" in library


@pytest.mark.parametrize(
    ("text", "duration", "shortest"),
    [
        ("30m", timedelta(minutes=30), "30m"),
        ("90m", timedelta(minutes=90), "90m"),
        ("36h", timedelta(hours=36), "36h"),
        ("24h", timedelta(hours=24), "1d"),
        ("3d", timedelta(days=3), "3d"),
    ],
)
def test_durations_read_and_write_back(text: str, duration: timedelta, shortest: str) -> None:
    assert parse_duration(text) == duration
    assert format_duration(duration) == shortest


@pytest.mark.parametrize("text", ["", "3", "0h", "1.5h", "2 days", "3w", "-1d", 30])
def test_bad_durations_are_rejected(text: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


def test_options_accept_a_label_shorthand_and_keep_their_order() -> None:
    step = AskChoice.model_validate(
        {"ask_choice": "Which?", "options": {"b": "Bee", "a": {"label": "Ay", "keywords": "x"}}}
    )
    assert list(step.options) == ["b", "a"]
    assert step.options["b"].label.source == "Bee"


def test_scale_labels_must_be_on_the_scale() -> None:
    with pytest.raises(ValueError, match=r"labels outside the scale: \[9\]"):
        AskScale.model_validate({"ask_scale": "How?", "from": 0, "to": 5, "labels": {9: "x"}})


SET_FLOW = """\
flow: sample
steps:
  total:
    set:
      results.total: VALUE
    next: done
  done:
    end:
"""


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            '{expr: "results.a +"}',
            "5: step 'total': set.results.total: bad expression 'results.a +': "
            "expected a value, found end of condition (column 12)",
        ),
        (
            '{expr: "a + b"}',
            "5: step 'total': set.results.total: bad expression 'a + b': "
            "unknown name 'a': use results.<name> or contact.<name> (column 1)",
        ),
        (
            '{exp: "results.a"}',
            "5: step 'total': set.results.total: "
            'a computed value is written {expr: "results.a + results.b"}',
        ),
        (
            "[1, 2]",
            "5: step 'total': set.results.total: expected a value, a template "
            '("{results.x}") or an expression ({expr: "…"}), not a list',
        ),
    ],
    ids=["syntax", "bare_name", "misspelt_key", "list"],
)
def test_it_reports_a_bad_set_expression_on_its_line(
    tmp_path: Path, value: str, problem: str
) -> None:
    assert problems_of(tmp_path, SET_FLOW.replace("VALUE", value)) == [problem]
