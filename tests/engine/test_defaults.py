"""The engine's default texts are gettext messages Babel can extract."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract

from bot.engine import defaults
from bot.engine.steps import REGISTRY
from bot.engine.steps.base import AskStep


def test_babel_extracts_every_default_text() -> None:
    path = Path(defaults.__file__)
    with path.open("rb") as source:
        found = {message for _, message, _, _ in extract("python", source, {"N_": None})}
    assert found == set(defaults.ALL)


def test_every_question_type_has_a_default_invalid_text() -> None:
    for cls in REGISTRY.values():
        if issubclass(cls, AskStep):
            assert cls.DEFAULT_INVALID in defaults.ALL, cls.TYPE
