"""A flood is stored, answered once per window, and becomes a case when it goes on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import keyword_texts
from bot.conversation import ConversationService
from bot.engine.text import for_language
from bot.flood import FLOOD_KIND, FloodHook
from bot.runtime import shipped_runtime
from storage.db import Database
from storage.models import Case, Contact, Message
from tests.conftest import FrozenClock
from tests.keywords.conftest import Person, PersonFactory, Phone, outbound


def _kinds(db: Database, who: Person) -> list[str]:
    return [m.kind for m in outbound(db, who)]


LIMIT = FloodHook.limit


def _burst(phone: Phone, who: Person, count: int, clock_: FrozenClock) -> None:
    for i in range(count):
        phone(who, f"message {i}")
        clock_.advance(timedelta(seconds=1))


def test_up_to_the_limit_every_message_is_answered_normally(
    db: Database, person: PersonFactory, phone: Phone, frozen_clock: FrozenClock
) -> None:
    lou = person("fr")
    _burst(phone, lou, LIMIT, frozen_clock)
    assert FLOOD_KIND not in _kinds(db, lou)


def test_a_flood_is_stored_answered_once_and_then_quiet_for_the_window(
    db: Database, person: PersonFactory, phone: Phone, frozen_clock: FrozenClock
) -> None:
    lou = person("fr")
    _burst(phone, lou, LIMIT, frozen_clock)
    answered = len(outbound(db, lou))
    _burst(phone, lou, 12, frozen_clock)  # all within the minute

    later = outbound(db, lou)[answered:]
    assert [m.kind for m in later] == [FLOOD_KIND]
    assert later[0].text == for_language(
        shipped_runtime().catalogs.translator("fr").gettext(keyword_texts.FLOODED), "fr"
    )
    with db.read() as session:
        stored = session.scalar(
            select(func.count(Message.id)).where(
                Message.contact_id == lou.contact_id, Message.direction == "in"
            )
        )
        cases = session.scalars(select(Case)).all()
    assert stored == LIMIT + 12  # nothing is lost
    assert [case.reason for case in cases] == ["message_received"]  # the inbox's, no flood


def test_a_flood_that_goes_on_opens_a_case_once(
    db: Database, person: PersonFactory, phone: Phone, frozen_clock: FrozenClock
) -> None:
    lou = person("fr")
    for _ in range(4):  # four minutes of twice the limit each
        _burst(phone, lou, 2 * LIMIT, frozen_clock)
        frozen_clock.advance(timedelta(seconds=60 - 2 * LIMIT))
    with db.read() as session:
        flood_cases = session.scalars(select(Case).where(Case.reason == "flood")).all()
        attached = session.scalar(
            select(func.count(Message.id)).where(Message.case_id == flood_cases[0].id)
        )
    assert len(flood_cases) == 1
    assert flood_cases[0].priority == "normal"
    assert attached  # the worker sees the flood on the case
    assert _kinds(db, lou).count(FLOOD_KIND) == 4  # one answer per window, no more


def test_after_a_quiet_minute_messages_are_answered_again(
    db: Database, person: PersonFactory, phone: Phone, frozen_clock: FrozenClock
) -> None:
    lou = person("fr")
    _burst(phone, lou, LIMIT + 4, frozen_clock)
    frozen_clock.advance(timedelta(minutes=2))
    handled = phone(lou, "Bonjour")
    assert handled.replies


def test_stop_is_honoured_in_the_middle_of_a_flood(
    db: Database, person: PersonFactory, phone: Phone, frozen_clock: FrozenClock
) -> None:
    lou = person("fr")
    _burst(phone, lou, LIMIT + 7, frozen_clock)
    phone(lou, "STOP")
    with db.read() as session:
        contact = session.get(Contact, lou.contact_id)
        assert contact is not None
    assert contact.opted_out_at is not None
    assert _kinds(db, lou)[-1] == "opt_out"


def test_the_limits_are_checked(service: ConversationService) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FloodHook(service, limit=0)
    with pytest.raises(ValueError, match="window"):
        FloodHook(service, window=timedelta(0))
