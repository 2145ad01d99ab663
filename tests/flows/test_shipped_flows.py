"""The shipped flows and their catalogs: complete, within SMS budgets, enrolling as promised."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.events import CheckinsEnrolled
from bot.engine.flow import FlowLibrary, load_library
from bot.engine.runner import Runner
from bot.engine.text import for_language
from bot.flowtexts import iter_flow_texts
from bot.i18n import Catalogs, check_catalogs
from bot.paths import flows_dir, locales_dir
from tests.engine.golden import Conversation, parse_now


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return load_library(flows_dir())


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(locales_dir())


def test_every_flow_text_is_translated_and_fits_its_sms_budget(catalogs: Catalogs) -> None:
    texts = [
        text
        for path in sorted(Path(flows_dir()).glob("*.yaml"))
        for text in iter_flow_texts(path.read_text(encoding="utf-8"), str(path))
    ]
    assert [str(problem) for problem in check_catalogs(texts, catalogs, for_language)] == []


@pytest.mark.parametrize(
    ("time_of_day", "clock"), [("1", "10:00"), ("2", "15:00")], ids=["morning", "afternoon"]
)
def test_checkin_setup_enrols_at_the_time_of_day_chosen(
    library: FlowLibrary, catalogs: Catalogs, time_of_day: str, clock: str
) -> None:
    now = parse_now("2026-11-25T10:30:00+01:00")
    conversation = Conversation(Runner(library, catalogs), "fr", {"first_name": "Marcelle"}, now)
    events = list(conversation.start("checkin_setup").events)
    for answer in ("samedi", time_of_day, "oui"):
        events += conversation.answer(answer).events

    assert [e for e in events if isinstance(e, CheckinsEnrolled)] == [
        CheckinsEnrolled("saturday", clock)
    ]
