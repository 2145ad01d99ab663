"""A person enrolled in weekly check-ins, with a few weeks of answers, for dashboard tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from storage.db import Database
from storage.models import (
    Channel,
    Checkin,
    CheckinEnrolment,
    CheckinStatus,
    Contact,
    ContactAddress,
    EnrolmentStatus,
)

# Mondays of four weeks in November 2026: answered, answered (with UCLA-3), missed, answered.
WEEKS: list[tuple[date, CheckinStatus, dict[str, Any] | None]] = [
    (date(2026, 11, 2), CheckinStatus.ANSWERED, {"loneliness": "hardly_ever", "wants_call": False}),
    (
        date(2026, 11, 9),
        CheckinStatus.ANSWERED,
        {"loneliness": "often", "wants_call": True, "ucla_total": 7},
    ),
    (date(2026, 11, 16), CheckinStatus.MISSED, None),
    (date(2026, 11, 23), CheckinStatus.ANSWERED, {"loneliness": "occasionally"}),
]


@dataclass(frozen=True)
class Enrolled:
    contact_id: int
    enrolment_id: int


def add_contact(
    database: Database,
    *,
    address: str = "+33612345678",
    channel: Channel = Channel.SMS,
    language: str = "fr",
) -> int:
    """A person who wrote once from `address`."""
    now = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    with database.write() as session:
        contact = Contact(created_at=now, fields={"first_name": "Lina"}, language=language)
        contact.addresses.append(
            ContactAddress(channel=channel, address=address, created_at=now, last_inbound_at=now)
        )
        session.add(contact)
        session.flush()
        return contact.id


def enrolled_with_answers(
    database: Database, *, language: str = "fr", channel: Channel = Channel.SMS
) -> Enrolled:
    """Lina, enrolled on Wednesdays at 10:00, with the four weeks of `WEEKS`."""
    contact_id = add_contact(
        database, address=f"+3361234{language}{channel}"[:16], channel=channel, language=language
    )
    with database.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        enrolment = CheckinEnrolment(
            contact_id=contact_id,
            status=EnrolmentStatus.ACTIVE,
            channel=channel,
            address_id=contact.addresses[0].id,
            language=language,
            timezone="Europe/Paris",
            weekday=2,
            minute_of_day=600,
            ucla_monthly=True,
            next_due_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
            created_at=datetime(2026, 10, 30, tzinfo=UTC),
            updated_at=datetime(2026, 10, 30, tzinfo=UTC),
        )
        session.add(enrolment)
        session.flush()
        for monday, status, answers in WEEKS:
            due = datetime.combine(monday + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
            session.add(
                Checkin(
                    enrolment_id=enrolment.id,
                    week_start=monday,
                    status=status,
                    answers=answers,
                    due_at=due + timedelta(hours=9),
                    sent_at=due + timedelta(hours=9),
                    answered_at=due + timedelta(hours=10) if answers else None,
                )
            )
        return Enrolled(contact_id=contact_id, enrolment_id=enrolment.id)
