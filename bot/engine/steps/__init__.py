"""Step types, one module each, registered under their YAML type key."""

from __future__ import annotations

from typing import TypeVar

from bot.engine.steps.base import AskStep, Step

S = TypeVar("S", bound=type[Step])

REGISTRY: dict[str, type[Step]] = {}


def register(cls: S) -> S:
    """Class decorator: make a step type known under its TYPE."""
    if cls.TYPE in REGISTRY:
        raise ValueError(f"step type {cls.TYPE!r} registered twice")
    REGISTRY[cls.TYPE] = cls
    return cls


# Importing the modules registers their types; the order is the order of the docs' table.
from bot.engine.steps import (  # noqa: E402
    ask_choice,
    ask_date,
    ask_number,
    ask_phone,
    ask_postcode,
    ask_range,
    ask_scale,
    ask_text,
    ask_yes_no,
    branch,
    end,
    enrol_checkins,
    open_case,
    say,
    set,
    set_language,
    start_flow,
)

__all__ = [
    "REGISTRY",
    "AskStep",
    "Step",
    "ask_choice",
    "ask_date",
    "ask_number",
    "ask_phone",
    "ask_postcode",
    "ask_range",
    "ask_scale",
    "ask_text",
    "ask_yes_no",
    "branch",
    "end",
    "enrol_checkins",
    "open_case",
    "register",
    "say",
    "set",
    "set_language",
    "start_flow",
]
