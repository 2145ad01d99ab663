"""The check-in card on the contact page and the programme page show the right numbers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bot.dashboard.programme import Numbers, programme
from storage.db import Database
from storage.models import (
    Case,
    Channel,
    Checkin,
    CheckinEnrolment,
    CheckinStatus,
    EnrolmentStatus,
    Priority,
)
from tests.browser import Credentials
from tests.conftest import FrozenClock
from tests.dashboard.checkins_data import add_contact, enrolled_with_answers
from tests.dashboard.client import log_in, text


@pytest.fixture
def signed_in(client: FlaskClient, worker: Credentials) -> FlaskClient:
    log_in(client, worker.email, worker.password)
    return client


def card(app: Flask, contact_id: int) -> str:
    with app.test_request_context(f"/queue/contacts/{contact_id}"):
        return str(app.jinja_env.globals["checkins_card"](contact_id))  # type: ignore[operator]


def test_the_card_shows_the_enrolment_counts_next_check_in_and_chart(
    app: Flask, db: Database, frozen_clock: FrozenClock
) -> None:
    enrolled = enrolled_with_answers(db)
    html = card(app, enrolled.contact_id)
    assert "Mercredi à 10:00 (Europe/Paris)" in html
    # 2 December 09:00 UTC is 10:00 in Paris.
    assert "mercredi 2 décembre 2026, 10:00" in html
    assert re.search(r"<dt>Répondu</dt><dd>3</dd>", html)
    assert re.search(r"<dt>Manqué</dt><dd>1</dd>", html)
    assert html.count('class="marker answered"') == 3
    assert html.count('class="marker missed"') == 1
    assert html.count('class="marker ucla"') == 1
    # The plain table carries the same weeks.
    assert html.count('<th scope="row">') == 4
    assert "Souvent ou toujours" in html
    assert "Mettre en pause" in html


def test_the_card_offers_enrolment_to_a_person_who_is_not_enrolled(
    app: Flask, db: Database
) -> None:
    contact_id = add_contact(db)
    html = card(app, contact_id)
    assert "Inscrire aux nouvelles hebdomadaires" in html
    assert f"/queue/contacts/{contact_id}/checkins/enrol" in html
    assert f'value="/queue/contacts/{contact_id}"' in html


def test_the_card_is_in_the_contact_page(signed_in: FlaskClient, db: Database) -> None:
    enrolled = enrolled_with_answers(db)
    page = text(signed_in.get(f"/queue/contacts/{enrolled.contact_id}"))
    assert "Nouvelles hebdomadaires" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in page


def _checkin(session: Session, enrolment: int, week: date, status: CheckinStatus) -> None:
    due = datetime(week.year, week.month, week.day, 9, tzinfo=UTC)
    session.add(
        Checkin(enrolment_id=enrolment, week_start=week, status=status, due_at=due, sent_at=due)
    )


def test_the_programme_counts_this_week_by_language_and_channel(
    db: Database, frozen_clock: FrozenClock
) -> None:
    french = enrolled_with_answers(db, language="fr", channel=Channel.SMS)
    arabic = enrolled_with_answers(db, language="ar", channel=Channel.TELEGRAM)
    paused = add_contact(db, address="+33700000000")
    with db.write() as session:
        enrolment = session.get(CheckinEnrolment, french.enrolment_id)
        assert enrolment is not None
        session.add(
            CheckinEnrolment(
                contact_id=paused,
                status=EnrolmentStatus.PAUSED,
                channel=Channel.SMS,
                language="fr",
                timezone="Europe/Paris",
                weekday=0,
                minute_of_day=600,
                created_at=frozen_clock.now(),
                updated_at=frozen_clock.now(),
            )
        )
        # Last week was missed twice in a row for the Arabic speaker: escalated.
        session.add(
            Case(
                contact_id=arabic.contact_id,
                queue="checkins",
                reason="no_news",
                priority=Priority.HIGH,
                priority_rank=Priority.HIGH.rank,
                opened_at=datetime(2026, 11, 23, 15, tzinfo=UTC),
            )
        )
    with db.read() as session:
        numbers = programme(session, frozen_clock.now(), "Europe/Paris")
    assert numbers.week == date(2026, 11, 23)
    # This week (23 November): both answered; the Arabic speaker was escalated too.
    assert numbers.total == Numbers(enrolled=2, sent=2, answered=2, missed=0, escalated=1)
    assert numbers.by_language == {
        "ar": Numbers(enrolled=1, sent=1, answered=1, escalated=1),
        "fr": Numbers(enrolled=1, sent=1, answered=1),
    }
    assert numbers.by_channel == {
        "sms": Numbers(enrolled=1, sent=1, answered=1),
        "telegram": Numbers(enrolled=1, sent=1, answered=1, escalated=1),
    }
    assert numbers.paused == 1
    assert len(numbers.weeks) == 8
    assert numbers.weeks[-3] == (date(2026, 11, 9), Numbers(sent=2, answered=2))
    assert numbers.weeks[-2] == (date(2026, 11, 16), Numbers(sent=2, missed=2))
    assert numbers.weeks[0] == (date(2026, 10, 5), Numbers())


def test_the_programme_page_shows_the_numbers_chart_and_table(
    signed_in: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    enrolled_with_answers(db)
    page = text(signed_in.get("/queue/checkins"))
    assert "<h1>Nouvelles hebdomadaires</h1>" in page
    assert page.count('class="bar answered"') == 8
    assert '<title id="programme-chart-title">' in page
    assert "Cette semaine, par canal" in page
    assert re.search(r"<th scope=\"row\" dir=\"auto\">Français</th>\s*<td>1</td>", page)


def test_the_programme_page_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/queue/checkins")
    assert response.status_code == 302
    assert "/login" in response.location
