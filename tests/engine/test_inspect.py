"""Static checks and the list of translatable texts."""

from __future__ import annotations

import pytest

from bot.engine.flow import parse_flow
from bot.engine.inspect import FlowMessage, iter_messages
from bot.engine.problems import FlowError

FLOW = """\
flow: sample
steps:
  lonely:
    ask_choice: How often do you feel lonely?
    options:
      often: {label: Often or always, keywords: "often, always"}
      never: {label: Never}
      own: {label: Français, translate: false}
    invalid: Please answer with a number.
    save: results.loneliness
    timeouts:
      - after: 24h
        say: Just checking in.
      - after: 3d
        goto: done
    next: weeks
  weeks:
    say:
      one: "{count} week"
      other: "{count} weeks"
      count: results.weeks
    sms_segments: 1
    next: scale
  scale:
    ask_scale: How cheerful?
    from: 0
    to: 5
    labels: {0: Never, 5: Always}
    next: done
  done:
    end:
"""


def test_it_lists_every_translatable_text_with_its_line() -> None:
    messages = list(iter_messages(parse_flow(FLOW, "sample.yaml")))

    labels = ("Often or always", "Never", "Français")
    assert messages == [
        FlowMessage("How often do you feel lonely?", None, 4, "lonely", 3, labels),
        FlowMessage("Please answer with a number.", None, 9, "lonely", 3, ()),
        FlowMessage("Just checking in.", None, 13, "lonely", 3, labels),
        FlowMessage("Often or always", None, 6, "lonely", 3, (), kind="label"),
        FlowMessage(
            "often, always",
            None,
            6,
            "lonely",
            3,
            (),
            "Comma-separated words a person may answer with to pick this option.",
            kind="keywords",
        ),
        FlowMessage("Never", None, 7, "lonely", 3, (), kind="label"),
        FlowMessage("{count} week", "{count} weeks", 18, "weeks", 1, ()),
        FlowMessage("How cheerful?", None, 25, "scale", 3, ("Never", "Always")),
        FlowMessage("Never", None, 28, "scale", 3, (), kind="label"),
        FlowMessage("Always", None, 28, "scale", 3, (), kind="label"),
    ]


def test_a_step_no_path_reaches_is_a_problem() -> None:
    source = FLOW.replace("  done:\n    end:\n", "  done:\n    end:\n  orphan:\n    end: x\n")
    with pytest.raises(FlowError) as caught:
        parse_flow(source, "sample.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "sample.yaml:32: step 'orphan' is never reached from 'lonely'"
    ]


def test_on_fail_then_and_timeout_targets_are_checked() -> None:
    source = FLOW.replace("goto: done", "goto: finished").replace(
        "    save: results.loneliness\n", "    save: results.loneliness\n    on_fail: oops\n"
    )
    with pytest.raises(FlowError) as caught:
        parse_flow(source, "sample.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "sample.yaml:11: step 'lonely': on_fail points to 'oops', which is not a step",
        "sample.yaml:16: step 'lonely': timeouts.1.goto points to 'finished', which is not a step",
    ]


def test_start_flow_without_then_is_not_a_dead_end() -> None:
    source = "flow: sample\nsteps:\n  go:\n    start_flow: other\n"
    assert list(parse_flow(source, "sample.yaml").steps) == ["go"]


def test_start_flow_with_a_dangling_then_is_reported() -> None:
    source = "flow: sample\nsteps:\n  go:\n    start_flow: other\n    then: later\n"
    with pytest.raises(FlowError, match=r"sample\.yaml:5: step 'go': then points to 'later'"):
        parse_flow(source, "sample.yaml")


def test_a_condition_on_a_name_no_step_saves_is_fine() -> None:
    source = (
        "flow: sample\nsteps:\n  route:\n    branch: {}\n    next:\n"
        "      - when: contact.from_outside\n        goto: done\n      - goto: done\n"
        "  done:\n    end:\n"
    )
    assert parse_flow(source, "sample.yaml").start == "route"


def test_skip_keywords_are_listed_as_keywords_never_sent() -> None:
    source = (
        "flow: sample\nsteps:\n  note:\n    ask_text: Anything to add?\n"
        '    skip_keywords: "no, nothing"\n    next: done\n  done:\n    end:\n'
    )
    messages = list(iter_messages(parse_flow(source, "sample.yaml")))

    assert [(m.msgid, m.line, m.kind) for m in messages] == [
        ("Anything to add?", 4, "message"),
        ("no, nothing", 5, "keywords"),
    ]
