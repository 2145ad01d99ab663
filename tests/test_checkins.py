"""Weekly check-ins over eight weeks of frozen, moving time, across the October DST change."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, insert, select

from bot import checkins, clock
from bot.cli import main
from bot.conversation import ConversationService
from bot.extensions import relais
from bot.reception import InboundMessage
from bot.schedule import Slot, next_due, week_start
from bot.timeouts import expire_due_waits
from storage.db import Database
from storage.models import (
    Case,
    Channel,
    Checkin,
    CheckinEnrolment,
    Contact,
    ContactAddress,
    Conversation,
    Message,
)

from .conftest import FrozenClock

PARIS = ZoneInfo("Europe/Paris")
# Monday 5 October 2026, 08:00 in Paris; the clocks go back on Sunday 25 October.
START = datetime(2026, 10, 5, 8, 0, tzinfo=PARIS)
END = START + timedelta(weeks=8)


@dataclass
class Person:
    phone: str
    weekday: int
    minute_of_day: int
    status: str = "active"
    opted_out: bool = False
    contact_id: int = 0


@pytest.fixture
def service(app: Flask) -> ConversationService:
    return relais(app).conversations


def _enrol(db: Database, person: Person, now: datetime) -> None:
    with db.write() as session:
        contact = Contact(
            created_at=now,
            fields={"first_name": "Lou"},
            language="fr",
            opted_out_at=now if person.opted_out else None,
        )
        address = ContactAddress(channel=Channel.SMS, address=person.phone, created_at=now)
        contact.addresses.append(address)
        session.add(contact)
        session.flush()
        enrolment = CheckinEnrolment(
            contact_id=contact.id,
            status=person.status,
            channel=Channel.SMS,
            address_id=address.id,
            language="fr",
            timezone="Europe/Paris",
            weekday=person.weekday,
            minute_of_day=person.minute_of_day,
            created_at=now,
            updated_at=now,
        )
        checkins.schedule(enrolment, now)
        session.add(enrolment)
        person.contact_id = contact.id


def _answer(service: ConversationService, person: Person, text: str) -> None:
    inbound = InboundMessage(Channel.SMS, person.phone, text, clock.now())
    service.handle(inbound)


def _next_event(db: Database, after: datetime) -> datetime | None:
    with db.read() as session:
        due = session.scalar(
            select(func.min(CheckinEnrolment.next_due_at)).where(
                CheckinEnrolment.status == "active"
            )
        )
        wait = session.scalar(
            select(func.min(Conversation.wait_until)).where(Conversation.status == "active")
        )
    candidates = [moment for moment in (due, wait) if moment is not None and moment > after]
    return min(candidates) if candidates else None


def _live(
    db: Database,
    service: ConversationService,
    frozen_clock: FrozenClock,
    on_checkin: dict[str, list[str]] | None = None,
) -> dict[int, list[datetime]]:
    """Move from event to event until END; answer check-ins as scripted; return starts."""
    started: dict[int, list[datetime]] = defaultdict(list)
    scripts = {phone: list(answers) for phone, answers in (on_checkin or {}).items()}
    frozen_clock.move_to(START)
    while True:
        now = clock.now()
        checkins.tick(service, now)
        expire_due_waits(service, now)
        with db.read() as session:
            fresh = session.execute(
                select(Checkin.enrolment_id, Checkin.sent_at, ContactAddress.address)
                .join(CheckinEnrolment, CheckinEnrolment.id == Checkin.enrolment_id)
                .join(ContactAddress, ContactAddress.id == CheckinEnrolment.address_id)
                .where(Checkin.sent_at == now)
            ).all()
        for row in fresh:
            started[row.enrolment_id].append(row.sent_at)
            script = scripts.get(row.address)
            answers = script.pop(0) if script else "silent"
            if answers != "silent":
                for text in answers.split("|"):
                    _answer(service, _by_phone(row.address), text)
        upcoming = _next_event(db, now)
        if upcoming is None or upcoming >= END:
            return started
        frozen_clock.move_to(upcoming)


_PEOPLE: dict[str, Person] = {}


def _by_phone(phone: str) -> Person:
    return _PEOPLE[phone]


def _cast() -> list[Person]:
    people = [
        Person("+33639980201", weekday=0, minute_of_day=10 * 60),  # Monday 10:00
        Person("+33639980202", weekday=5, minute_of_day=15 * 60),  # Saturday 15:00
        Person("+33639980203", weekday=6, minute_of_day=11 * 60),  # chose Sunday 11:00
        Person("+33639980204", weekday=2, minute_of_day=10 * 60, status="paused"),
        Person("+33639980205", weekday=3, minute_of_day=15 * 60, opted_out=True),
    ]
    _PEOPLE.clear()
    _PEOPLE.update({person.phone: person for person in people})
    return people


# Answers to the French weekly check-in: "never" lonely, no call, nothing to add.
ANSWERED = "5|non|non"


def test_eight_weeks_one_checkin_a_week_in_each_slot_across_dst(
    db: Database, service: ConversationService, frozen_clock: FrozenClock
) -> None:
    frozen_clock.move_to(START)
    people = _cast()
    for person in people:
        _enrol(db, person, clock.now())
    monday = people[0].phone
    started = _live(db, service, frozen_clock, {monday: [ANSWERED] * 8})

    with db.read() as session:
        enrolment_of = {e.contact_id: e.id for e in session.scalars(select(CheckinEnrolment))}
    for person in people[:3]:
        moments = [m.astimezone(PARIS) for m in started[enrolment_of[person.contact_id]]]
        # One a week, eight weeks, each on the chosen day within a quarter of an hour.
        assert len(moments) == 8, (person.phone, moments)
        assert len({week_start(m, "Europe/Paris") for m in moments}) == 8
        for moment in moments:
            assert moment.weekday() == person.weekday
            minutes = moment.hour * 60 + moment.minute
            assert person.minute_of_day <= minutes <= person.minute_of_day + 15
    # The same local 10:00 before and after the clocks went back: a different UTC hour.
    monday_starts = started[enrolment_of[people[0].contact_id]]
    assert {m.astimezone(UTC).hour for m in monday_starts} == {8, 9}
    # Paused and opted-out people got nothing at all.
    for person in people[3:]:
        assert started[enrolment_of[person.contact_id]] == []
        with db.read() as session:
            sent = session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.contact_id == person.contact_id)
            )
        assert sent == 0


def test_nobody_gets_a_checkin_at_night_or_on_a_sunday_they_did_not_choose() -> None:
    rng = random.Random(7)
    moment = datetime(2026, 10, 1, tzinfo=UTC)
    for weekday in range(6):
        for minute in (9 * 60, 10 * 60, 15 * 60, 19 * 60 + 50):
            slot = Slot(weekday, minute, "Europe/Paris")
            for _ in range(60):
                due = next_due(slot, moment, rng).astimezone(PARIS)
                assert due.weekday() != 6
                assert 9 <= due.hour < 20
                moment = due


def test_two_missed_weeks_make_exactly_one_high_priority_case(
    db: Database, service: ConversationService, frozen_clock: FrozenClock
) -> None:
    frozen_clock.move_to(START)
    person = _cast()[1]  # Saturday, never answers
    _enrol(db, person, clock.now())
    _live(db, service, frozen_clock)
    with db.read() as session:
        cases = session.scalars(select(Case).where(Case.reason == "no_news")).all()
        statuses = session.scalars(select(Checkin.status).order_by(Checkin.week_start)).all()
    assert len(cases) == 1
    assert cases[0].priority == "high"
    assert statuses[:7] == ["missed"] * 7


def test_answering_in_between_resets_the_count(
    db: Database, service: ConversationService, frozen_clock: FrozenClock
) -> None:
    frozen_clock.move_to(START)
    person = _cast()[0]
    _enrol(db, person, clock.now())
    # Missed, answered, missed, answered…: never two missed weeks in a row.
    _live(db, service, frozen_clock, {person.phone: ["silent", ANSWERED] * 4})
    with db.read() as session:
        statuses = session.scalars(select(Checkin.status).order_by(Checkin.week_start)).all()
        cases = session.scalar(
            select(func.count()).select_from(Case).where(Case.reason == "no_news")
        )
        enrolment = session.scalars(select(CheckinEnrolment)).one()
    assert statuses == ["missed", "answered"] * 4
    assert cases == 0
    assert enrolment.consecutive_missed == 0


def test_a_person_in_another_conversation_is_checked_in_later_the_same_week(
    db: Database, service: ConversationService, frozen_clock: FrozenClock
) -> None:
    frozen_clock.move_to(START)
    person = _cast()[0]
    _enrol(db, person, clock.now())
    # They start talking to the bot just before their slot.
    frozen_clock.move_to(datetime(2026, 10, 5, 9, 55, tzinfo=PARIS))
    _answer(service, person, "Bonjour")
    frozen_clock.move_to(datetime(2026, 10, 5, 10, 30, tzinfo=PARIS))
    checkins.tick(service, clock.now())
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Checkin)) == 0
        enrolment = session.scalars(select(CheckinEnrolment)).one()
    assert enrolment.next_due_at is not None
    assert enrolment.next_due_at.astimezone(PARIS).date() == date(2026, 10, 5)


def test_checkins_tick_runs_one_pass_at_a_given_time(
    runner: CliRunner, db: Database, frozen_clock: FrozenClock
) -> None:
    frozen_clock.move_to(START)
    person = _cast()[0]
    _enrol(db, person, clock.now())
    early = runner.invoke(main, ["checkins", "tick", "--now", "2026-10-05T09:00:00+02:00"])
    assert early.exit_code == 0, early.output
    assert "0 check-in(s)" in early.output
    due = runner.invoke(main, ["checkins", "tick", "--now", "2026-10-05T11:00:00+02:00"])
    assert due.exit_code == 0, due.output
    assert "1 check-in(s)" in due.output
    bad = runner.invoke(main, ["checkins", "tick", "--now", "2026-10-05 11:00"])
    assert bad.exit_code == 2
    assert "offset" in bad.output


@pytest.mark.postgres_only
@pytest.mark.slow
def test_two_workers_ticking_at_once_start_each_checkin_exactly_once(
    db: Database, database_url: str
) -> None:
    now = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    people = 5000
    with db.write() as session:
        contacts = [
            {"created_at": now, "fields": {}, "language": "fr", "consent": "given"}
            for _ in range(people)
        ]
        contact_ids = session.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True), contacts
        ).all()
        address_ids = session.scalars(
            insert(ContactAddress).returning(ContactAddress.id, sort_by_parameter_order=True),
            [
                {
                    "contact_id": contact_id,
                    "channel": "sms",
                    "address": f"+336399{n:06d}",
                    "created_at": now,
                }
                for n, contact_id in enumerate(contact_ids)
            ],
        ).all()
        session.execute(
            insert(CheckinEnrolment),
            [
                {
                    "contact_id": contact_id,
                    "status": "active",
                    "channel": "sms",
                    "address_id": address_id,
                    "language": "fr",
                    "timezone": "Europe/Paris",
                    "weekday": 0,
                    "minute_of_day": 600,
                    "next_due_at": now - timedelta(minutes=1),
                    "created_at": now,
                    "updated_at": now,
                    "consecutive_missed": 0,
                    "ucla_monthly": False,
                }
                for contact_id, address_id in zip(contact_ids, address_ids, strict=True)
            ],
        )
    env = {**os.environ, "DATABASE_URL": database_url, "RELAIS_LOG_LEVEL": "WARNING"}
    tick = [sys.executable, "-m", "bot.cli", "checkins", "tick", "--now", now.isoformat()]
    workers = [
        subprocess.Popen(tick, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in "ab"
    ]
    outputs = [" ".join(worker.communicate(timeout=300)) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    with db.read() as session:
        per_enrolment = session.execute(
            select(Checkin.enrolment_id, func.count()).group_by(Checkin.enrolment_id)
        ).all()
        runs = session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.flow == "weekly_checkin")
        )
        questions = session.scalar(select(func.count()).select_from(Message))
    assert len(per_enrolment) == people, outputs
    assert {count for _, count in per_enrolment} == {1}
    assert runs == people
    assert questions == people
    # Both workers took a share of the work.
    assert all(" 0 check-in" not in output for output in outputs), outputs
