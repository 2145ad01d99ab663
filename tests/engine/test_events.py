"""Events as JSON, for the host's event log and the golden files."""

from __future__ import annotations

import json

import pytest

from bot.engine.events import (
    EVENT_TYPES,
    AnswerRejected,
    CaseRequested,
    CheckinsEnrolled,
    Event,
    FieldSaved,
    FlowEntered,
    LanguageChanged,
    MessageCreated,
    ResultSaved,
    RunEnded,
    RunFailed,
)

EXAMPLES: list[Event] = [
    MessageCreated("How often?", ("Often", "Never"), "lonely", "How often?"),
    FieldSaved("postcode", "75011"),
    ResultSaved("years", {"min": 2, "max": 3}, "years", "2-3"),
    CaseRequested("checkins", "high", "asked_for_person", "Sam asked for a call."),
    LanguageChanged("fa_AF"),
    CheckinsEnrolled("wednesday", "10:00"),
    FlowEntered("weekly_checkin"),
    AnswerRejected("lonely", "purple", 1),
    RunEnded("completed"),
    RunFailed("a loop"),
]


def test_every_event_type_has_an_example() -> None:
    assert {type(event) for event in EXAMPLES} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda event: event.TYPE)
def test_an_event_survives_a_json_round_trip(event: Event) -> None:
    data = json.loads(json.dumps(event.to_json()))
    assert data["type"] == event.TYPE
    assert Event.from_json(data) == event


def test_message_json_lists_its_choices() -> None:
    assert MessageCreated("Q?", ("A", "B"), "s", "Q?").to_json() == {
        "type": "message_created",
        "text": "Q?",
        "choices": ["A", "B"],
        "step": "s",
        "msgid": "Q?",
    }


@pytest.mark.parametrize(
    "data",
    [{"type": "exploded"}, {"outcome": "x"}, {"type": "run_ended", "outcome": "x", "extra": 1}],
)
def test_unknown_or_malformed_events_are_value_errors(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="event"):
        Event.from_json(data)
