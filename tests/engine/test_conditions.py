"""The condition language: parsing, evaluation, and errors that carry a column."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.conditions import ConditionError, parse_condition

VALUES: dict[str, Any] = {
    "results.age_bracket": "under_15",
    "results.wants_call": True,
    "results.a": 2,
    "results.b": 3,
    "results.c": 1,
    "results.message": "",
    "results.score": 2.5,
    "contact.language": "fa_AF",
    "contact.consent": False,
}


def holds(source: str) -> bool:
    return parse_condition(source).evaluate(VALUES.get)


@pytest.mark.parametrize(
    "source",
    [
        'results.age_bracket == "under_15"',
        "results.age_bracket == 'under_15'",
        "results.wants_call",
        "not contact.consent",
        "results.a + results.b + results.c >= 6",
        "results.a + results.b <= 5 and results.b - results.a == 1",
        'contact.language in ["ar", "fa_AF"]',
        '"fa" in contact.language',
        'contact.language not in ["fr", "en"]',
        'results.age_bracket == "adult" or results.wants_call',
        "not (results.a > 2 or contact.consent)",
        "results.missing == none",
        "results.score > 2",
        "results.a > -1",
        "results.wants_call == true and contact.consent == false",
        "results.missing + results.a == 2",
    ],
)
def test_it_holds(source: str) -> None:
    assert holds(source)


@pytest.mark.parametrize(
    "source",
    [
        "results.missing",
        "results.message",
        "contact.consent",
        "results.missing > 3",
        "results.age_bracket > 3",
        'results.a == "2"',
        "results.a in results.b",
        "results.age_bracket + 1 == 1",
        "results.wants_call and contact.consent",
        "[]",
    ],
)
def test_it_does_not_hold(source: str) -> None:
    assert not holds(source)


def test_and_binds_tighter_than_or() -> None:
    assert holds("results.wants_call or contact.consent and contact.consent")
    assert not holds("(results.wants_call or contact.consent) and contact.consent")


def test_it_lists_the_names_it_reads() -> None:
    condition = parse_condition("results.a + results.b > 1 and not contact.consent")
    assert condition.names() == ("results.a", "results.b", "contact.consent")


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("", "empty condition", 1),
        ("results.a ==", "expected a value, found end of condition", 13),
        ("results.a = 1", "unexpected character '='", 11),
        ("age == 3", "unknown name 'age'", 1),
        ("results.a.b == 3", "unknown name 'results.a.b'", 1),
        ("(results.a", "expected ')'", 11),
        ("results.a < results.b < 3", "chained comparisons are not allowed", 23),
        ("results.a not results.b", "expected 'in'", 15),
        ("__import__('os')", "unknown name '__import__'", 1),
        ("results.a * 2", "unexpected character '*'", 11),
        ("1" * 40, "number too long", 1),
        ("(" * 100, "nested too deeply", 41),
    ],
)
def test_it_reports_a_bad_condition_with_its_column(source: str, message: str, column: int) -> None:
    with pytest.raises(ConditionError, match=re.escape(message)) as caught:
        parse_condition(source)
    assert caught.value.column == column


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_condition_error_only(source: str) -> None:
    try:
        condition = parse_condition(source)
    except ConditionError:
        return
    assert isinstance(condition.evaluate(VALUES.get), bool)


CONDITION_PIECES = st.sampled_from(
    [
        "results.a", "contact.consent", "1", "2.5", '"x"', "none", "true", "[", "]", "(", ")",
        ",", "==", "!=", "<", ">=", "in", "not", "and", "or", "+", "-", " ",
    ]
)  # fmt: skip


@given(st.lists(CONDITION_PIECES, max_size=30))
def test_token_soup_parses_or_raises_condition_error_only(pieces: list[str]) -> None:
    source = " ".join(pieces)
    try:
        condition = parse_condition(source)
    except ConditionError:
        return
    assert isinstance(condition.evaluate(VALUES.get), bool)
