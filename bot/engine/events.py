"""Events a sprint produces; the host stores them and acts on them (sends, saves, opens cases)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events; `TYPE` is the name used in JSON."""

    TYPE: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON dict with a `type` key."""
        data: dict[str, Any] = {"type": self.TYPE}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            data[field.name] = list(value) if isinstance(value, tuple) else value
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> Event:
        """Rebuild an event from `to_json` output."""
        return event_from_json(data)


@dataclass(frozen=True)
class MessageCreated(Event):
    """A text for the person; `choices` are shown as numbered lines or buttons."""

    TYPE: ClassVar[str] = "message_created"
    text: str
    choices: tuple[str, ...]
    step: str
    msgid: str


@dataclass(frozen=True)
class FieldSaved(Event):
    """A value saved on the person's record (`contact.<field>`)."""

    TYPE: ClassVar[str] = "field_saved"
    field: str
    value: Any


@dataclass(frozen=True)
class ResultSaved(Event):
    """A value saved in the run's results; `input` is the answer it came from, if any."""

    TYPE: ClassVar[str] = "result_saved"
    name: str
    value: Any
    step: str
    input: str | None


@dataclass(frozen=True)
class CaseRequested(Event):
    """A person is needed: a case for a worker queue."""

    TYPE: ClassVar[str] = "case_requested"
    queue: str
    priority: str
    reason: str
    summary: str


@dataclass(frozen=True)
class LanguageChanged(Event):
    """The person's language changed; following texts are in it."""

    TYPE: ClassVar[str] = "language_changed"
    language: str


@dataclass(frozen=True)
class CheckinsEnrolled(Event):
    """The person asked for weekly check-ins on this weekday and local time."""

    TYPE: ClassVar[str] = "checkins_enrolled"
    weekday: str
    time: str


@dataclass(frozen=True)
class FlowEntered(Event):
    """A flow started (the first one, or one entered with start_flow)."""

    TYPE: ClassVar[str] = "flow_entered"
    flow: str


@dataclass(frozen=True)
class AnswerRejected(Event):
    """An answer was not understood; `attempt` counts invalid answers to this question."""

    TYPE: ClassVar[str] = "answer_rejected"
    step: str
    input: str
    attempt: int


@dataclass(frozen=True)
class RunEnded(Event):
    """The run is over; always the last event of a finished run."""

    TYPE: ClassVar[str] = "run_ended"
    outcome: str


@dataclass(frozen=True)
class RunFailed(Event):
    """The flow could not go on (a loop, a missing step); followed by RunEnded("failed")."""

    TYPE: ClassVar[str] = "run_failed"
    reason: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        MessageCreated,
        FieldSaved,
        ResultSaved,
        CaseRequested,
        LanguageChanged,
        CheckinsEnrolled,
        FlowEntered,
        AnswerRejected,
        RunEnded,
        RunFailed,
    )
}


def event_from_json(data: dict[str, Any]) -> Event:
    """Rebuild any event from its JSON dict; raise ValueError on an unknown type or fields."""
    data = dict(data)
    kind = data.pop("type", None)
    cls = EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    if cls is MessageCreated and "choices" in data:
        data["choices"] = tuple(data["choices"])
    try:
        return cls(**data)
    except TypeError as error:
        raise ValueError(f"bad {kind} event: {error}") from error
