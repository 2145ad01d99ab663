"""The state of a waiting run, as plain JSON the host stores between messages."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

STATE_VERSION = 1  # bump, and read the old shape too, when the shape changes


class StateError(ValueError):
    """Stored state that the engine cannot read (corrupt, or from an unknown version)."""


class Frame(BaseModel):
    """A parent flow waiting for a sub-flow: where it goes on."""

    model_config = ConfigDict(extra="forbid")

    flow: str
    then: str


class RunState(BaseModel):
    """Where a run waits: flow and step, parents, results, and the question's bookkeeping."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    flow: str
    step: str
    stack: list[Frame] = Field(default_factory=list)
    results: dict[str, Any] = Field(default_factory=dict)
    # When the question was first asked: timeouts count from here, re-prompts don't reset it.
    asked_at: datetime
    invalid: int = 0
    timeouts_done: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: str/int/float/bool/None/list/dict, the datetime as ISO 8601."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any) -> RunState:
        """Read stored state (never sharing objects with `data`); StateError if it is not valid."""
        try:
            return cls.model_validate(copy.deepcopy(data))
        except ValidationError as error:
            raise StateError(f"unreadable run state: {error}") from error
