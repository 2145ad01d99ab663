"""Workers enrol, pause, resume, reschedule and stop check-ins: each change is scheduled,
kept in the enrolment's history and audited."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot import audit
from storage.db import Database
from storage.models import AuditEntry, CheckinEnrolment, Consent, Contact, EnrolmentChange
from tests.browser import Credentials
from tests.conftest import FrozenClock
from tests.dashboard.checkins_data import add_contact
from tests.dashboard.client import csrf_token, log_in, text

PROGRAMME = "/queue/checkins"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def signed_in(client: FlaskClient, worker: Credentials) -> FlaskClient:
    log_in(client, worker.email, worker.password)
    return client


def enrol(client: FlaskClient, contact_id: int, **fields: str) -> str:
    prefix = f"checkins-{contact_id}-"
    data = {"weekday": "2", "time": "10:00", "ucla_monthly": "yes", "next": PROGRAMME, **fields}
    response = client.post(
        f"/queue/contacts/{contact_id}/checkins/enrol",
        data={
            **{prefix + key: value for key, value in data.items()},
            "csrf_token": csrf_token(client, PROGRAMME),
        },
    )
    assert response.status_code == 302
    assert response.location == PROGRAMME
    return text(client.get(PROGRAMME))


def change(client: FlaskClient, contact_id: int, action: str) -> str:
    response = client.post(
        f"/queue/contacts/{contact_id}/checkins/{action}",
        data={"next": PROGRAMME, "csrf_token": csrf_token(client, PROGRAMME)},
    )
    assert response.status_code == 302
    return text(client.get(PROGRAMME))


def enrolment_of(db: Database, contact_id: int) -> CheckinEnrolment:
    with db.read() as session:
        found = session.scalar(
            select(CheckinEnrolment).where(CheckinEnrolment.contact_id == contact_id)
        )
        assert found is not None
        return found


def history_of(db: Database, enrolment_id: int) -> list[tuple[str, int | None]]:
    with db.read() as session:
        rows = session.scalars(
            select(EnrolmentChange)
            .where(EnrolmentChange.enrolment_id == enrolment_id)
            .order_by(EnrolmentChange.id)
        )
        return [(row.change, row.actor_id) for row in rows]


def audited(db: Database) -> list[tuple[str | None, int | None, str]]:
    with db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action == audit.CHECKIN_ENROLMENT)
        )
        return [(str((row.detail or {}).get("change")), row.target_id, row.actor) for row in rows]


def test_a_worker_enrols_a_person_on_their_last_address_in_their_slot(
    signed_in: FlaskClient, db: Database, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    contact_id = add_contact(db)
    page = enrol(signed_in, contact_id)
    assert "Les nouvelles hebdomadaires commencent au prochain créneau." in page
    enrolment = enrolment_of(db, contact_id)
    assert (enrolment.status, enrolment.channel, enrolment.language) == ("active", "sms", "fr")
    assert (enrolment.weekday, enrolment.minute_of_day, enrolment.ucla_monthly) == (2, 600, True)
    assert enrolment.timezone == "Europe/Paris"
    # Wednesday 25 November, 10:30 in Paris: this week's 10:00 is past, so next week's.
    assert enrolment.next_due_at is not None
    local = enrolment.next_due_at.astimezone(PARIS)
    assert (local.date().isoformat(), local.hour) == ("2026-12-02", 10)
    assert history_of(db, enrolment.id) == [("enrolled", worker.id)]
    assert audited(db) == [("enrolled", contact_id, worker.email)]


def test_pause_resume_and_stop_recompute_the_next_check_in_and_are_audited(
    signed_in: FlaskClient, db: Database, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    contact_id = add_contact(db)
    enrol(signed_in, contact_id)
    assert "Les nouvelles hebdomadaires sont en pause." in change(signed_in, contact_id, "pause")
    paused = enrolment_of(db, contact_id)
    assert (paused.status, paused.next_due_at) == ("paused", None)

    frozen_clock.move_to(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    log_in(signed_in, worker.email, worker.password)  # a week later, the session has ended
    change(signed_in, contact_id, "resume")
    resumed = enrolment_of(db, contact_id)
    assert resumed.status == "active"
    assert resumed.next_due_at is not None
    # Resumed on Thursday 3 December: the next Wednesday slot is the 9th.
    assert resumed.next_due_at.astimezone(PARIS).day == 9

    change(signed_in, contact_id, "stop")
    stopped = enrolment_of(db, contact_id)
    assert (stopped.status, stopped.next_due_at) == ("stopped", None)
    assert [c for c, _actor in history_of(db, stopped.id)] == [
        "enrolled",
        "paused",
        "resumed",
        "stopped",
    ]
    assert [c for c, _target, _actor in audited(db)] == ["enrolled", "paused", "resumed", "stopped"]


def test_changing_the_slot_moves_the_next_check_in(
    signed_in: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    contact_id = add_contact(db)
    enrol(signed_in, contact_id)
    prefix = f"checkins-{contact_id}-"
    signed_in.post(
        f"/queue/contacts/{contact_id}/checkins/slot",
        data={
            prefix + "weekday": "4",
            prefix + "time": "15:30",
            prefix + "ucla_monthly": "no",
            prefix + "next": PROGRAMME,
            "csrf_token": csrf_token(signed_in, PROGRAMME),
        },
    )
    enrolment = enrolment_of(db, contact_id)
    assert (enrolment.weekday, enrolment.minute_of_day, enrolment.ucla_monthly) == (4, 930, False)
    assert enrolment.next_due_at is not None
    local = enrolment.next_due_at.astimezone(PARIS)
    # Friday 27 November at 15:30 (jitter only ever delays, by a quarter of an hour at most).
    assert (local.day, local.hour) == (27, 15)
    assert [c for c, _t, _a in audited(db)] == ["enrolled", "rescheduled"]


def test_a_person_who_said_stop_cannot_be_enrolled(
    signed_in: FlaskClient, db: Database, frozen_clock: FrozenClock
) -> None:
    contact_id = add_contact(db)
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.opted_out_at = frozen_clock.now()
    page = enrol(signed_in, contact_id)
    assert "Cette personne a demandé à ne plus rien recevoir (STOP)." in page
    with db.read() as session:
        assert session.scalar(select(CheckinEnrolment)) is None
    assert audited(db) == []


def test_a_person_who_refused_consent_cannot_be_enrolled(
    signed_in: FlaskClient, db: Database
) -> None:
    contact_id = add_contact(db)
    with db.write() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.consent = Consent.REFUSED
    page = enrol(signed_in, contact_id)
    assert "Cette personne a refusé que nous gardions ses réponses" in page
    with db.read() as session:
        assert session.scalar(select(CheckinEnrolment)) is None
    assert audited(db) == []


def test_pausing_a_person_who_is_not_enrolled_changes_nothing(
    signed_in: FlaskClient, db: Database
) -> None:
    contact_id = add_contact(db)
    page = change(signed_in, contact_id, "pause")
    assert "Cette personne n’est pas inscrite." in page
    assert audited(db) == []


def test_a_bad_time_is_explained_and_nothing_is_enrolled(
    signed_in: FlaskClient, db: Database
) -> None:
    contact_id = add_contact(db)
    page = enrol(signed_in, contact_id, time="25:99")
    assert "Indiquez une heure, par exemple 10:00." in page
    with db.read() as session:
        assert session.scalar(select(CheckinEnrolment)) is None


def test_an_action_without_its_token_is_refused(signed_in: FlaskClient, db: Database) -> None:
    contact_id = add_contact(db)
    response = signed_in.post(f"/queue/contacts/{contact_id}/checkins/pause", data={})
    assert response.status_code == 400
