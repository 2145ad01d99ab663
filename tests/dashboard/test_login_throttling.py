"""Wrong passwords slow further tries: per account and client address (in the database),
and per client address across accounts (in memory). Nobody locks a worker out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.dashboard.throttle import IpThrottle, client_key, lock_delay
from storage.db import Database
from storage.models import AuditEntry, LoginFailure
from tests.browser import Credentials
from tests.conftest import FrozenClock
from tests.dashboard.client import log_in, post_form, text

GENERIC_REFUSAL = "L’adresse e-mail ou le mot de passe est incorrect"
LONGER_THAN_ANY_LOCK = timedelta(minutes=16)
STRANGER = "203.0.113.9"
WORKERS_OFFICE = "198.51.100.7"


def _failures(db: Database, user_id: int) -> dict[str, tuple[int, object]]:
    with db.read() as session:
        rows = session.scalars(select(LoginFailure).where(LoginFailure.user_id == user_id))
        return {row.client: (row.failures, row.locked_until) for row in rows}


def _from(client: FlaskClient, address: str) -> FlaskClient:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_ten_wrong_passwords_in_a_row_lock_the_account_for_longer_each_time(
    client: FlaskClient, worker: Credentials, db: Database, frozen_clock: FrozenClock
) -> None:
    for _ in range(10):
        response = log_in(client, worker.email, "wrong password, again")
        assert GENERIC_REFUSAL in text(response)
        # Wait out each lock so every try is really checked and counted.
        frozen_clock.advance(LONGER_THAN_ANY_LOCK)
    frozen_clock.advance(-LONGER_THAN_ANY_LOCK)
    assert _failures(db, worker.id) == {
        "127.0.0.1": (10, frozen_clock.now() + timedelta(seconds=32))
    }

    refused = log_in(client, worker.email, worker.password)
    assert GENERIC_REFUSAL in text(refused)
    frozen_clock.advance(timedelta(seconds=31))
    assert GENERIC_REFUSAL in text(log_in(client, worker.email, worker.password))

    frozen_clock.advance(timedelta(seconds=2))
    accepted = log_in(client, worker.email, worker.password)
    assert accepted.status_code == 302
    assert _failures(db, worker.id) == {}


def test_tries_during_a_lock_are_refused_without_checking_or_counting(
    client: FlaskClient, worker: Credentials, db: Database, frozen_clock: FrozenClock
) -> None:
    for _ in range(5):
        log_in(client, worker.email, "wrong password, again")
    assert _failures(db, worker.id) == {"127.0.0.1": (5, frozen_clock.now() + timedelta(seconds=1))}
    for _ in range(3):
        assert GENERIC_REFUSAL in text(log_in(client, worker.email, worker.password))
    assert _failures(db, worker.id)["127.0.0.1"][0] == 5


def test_a_stranger_failing_a_hundred_times_does_not_lock_the_worker_out(
    client: FlaskClient, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    office = _from(client.application.test_client(), WORKERS_OFFICE)
    # A try a minute stays under the address throttle: each one is checked and counted.
    for number in range(1, 101):
        frozen_clock.advance(timedelta(minutes=1))
        log_in(_from(client, STRANGER), worker.email, f"is it this one? {number}")
        if number % 10 == 0:
            # The worker logs in from their office whenever they like.
            assert log_in(office, worker.email, worker.password).status_code == 302, number
            post_form(office, "/logout", {}, page="/queue/")
    # Whereas the stranger's address stays locked out of the account.
    assert GENERIC_REFUSAL in text(log_in(client, worker.email, worker.password))


def test_a_noisy_address_is_slowed_down_whatever_the_account_and_the_worker_is_not(
    client: FlaskClient, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    for number in range(100):
        log_in(_from(client, STRANGER), f"guess{number % 7}@relais.test", "is it this one?")
        frozen_clock.advance(timedelta(seconds=1))
    assert log_in(client, worker.email, worker.password).status_code == 429
    office = _from(client.application.test_client(), WORKERS_OFFICE)
    assert log_in(office, worker.email, worker.password).status_code == 302


def test_a_stranger_waiting_out_the_throttle_stays_locked_for_that_account_only(
    client: FlaskClient, worker: Credentials, db: Database, frozen_clock: FrozenClock
) -> None:
    for _ in range(8):
        frozen_clock.advance(timedelta(seconds=20))
        log_in(_from(client, STRANGER), worker.email, "is it this one?")
    # The stranger's address is locked out of this account, and only it.
    assert GENERIC_REFUSAL in text(log_in(client, worker.email, worker.password))
    assert set(_failures(db, worker.id)) == {STRANGER}
    office = _from(client.application.test_client(), WORKERS_OFFICE)
    assert log_in(office, worker.email, worker.password).status_code == 302
    # The worker's success does not lift the stranger's lock.
    assert set(_failures(db, worker.id)) == {STRANGER}


def test_a_lock_is_audited_with_the_address(
    client: FlaskClient, worker: Credentials, db: Database
) -> None:
    for _ in range(5):
        log_in(_from(client, STRANGER), worker.email, "is it this one?")
    with db.read() as session:
        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "login_failed")
                .order_by(AuditEntry.id)
            )
        )
    assert [entry.ip for entry in entries] == [STRANGER] * 5
    assert entries[-1].detail == {"reason": "mismatch", "failures": 5, "locked_seconds": 1}


def test_addresses_of_one_ipv6_64_count_as_one_client(
    client: FlaskClient, worker: Credentials, db: Database
) -> None:
    for number in range(5):
        log_in(_from(client, f"2001:db8:1:2::{number + 1:x}"), worker.email, "is it this?")
    assert _failures(db, worker.id).keys() == {"2001:db8:1:2::/64"}
    locked = log_in(_from(client, "2001:db8:1:2:aaaa::1"), worker.email, worker.password)
    assert GENERIC_REFUSAL in text(locked)
    neighbour = log_in(_from(client, "2001:db8:1:3::1"), worker.email, worker.password)
    assert neighbour.status_code == 302


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "unknown"),
        ("", "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_clients_are_ipv4_addresses_or_ipv6_64s(ip: str | None, key: str) -> None:
    assert client_key(ip) == key


def test_failures_are_forgotten_after_a_day(
    client: FlaskClient, worker: Credentials, db: Database, frozen_clock: FrozenClock
) -> None:
    for _ in range(4):
        log_in(_from(client, STRANGER), worker.email, "is it this one?")
    frozen_clock.advance(timedelta(days=1, minutes=1))
    log_in(_from(client, WORKERS_OFFICE), worker.email, "a typo in it")
    assert _failures(db, worker.id) == {WORKERS_OFFICE: (1, None)}
    log_in(_from(client, STRANGER), worker.email, "is it this one?")
    assert _failures(db, worker.id)[STRANGER] == (1, None)


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(1, None), (4, None), (5, 1), (6, 2), (10, 32), (14, 512), (15, 900), (1000, 900)],
)
def test_locks_double_from_the_fifth_failure_up_to_fifteen_minutes(
    failures: int, seconds: int | None
) -> None:
    expected = None if seconds is None else timedelta(seconds=seconds)
    assert lock_delay(failures) == expected


def test_a_noisy_client_is_refused_even_the_right_password_until_its_failures_age(
    client: FlaskClient, worker: Credentials, frozen_clock: FrozenClock
) -> None:
    noisy = {"REMOTE_ADDR": "203.0.113.9"}
    client.environ_base.update(noisy)
    for number in range(20):
        log_in(client, f"guess{number}@relais.test", "some password")
    response = log_in(client, worker.email, worker.password)
    assert response.status_code == 429
    assert "Trop d’essais depuis cette connexion" in text(response)

    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert log_in(client, worker.email, worker.password).status_code == 302


def test_a_client_throttle_lifts_when_the_window_has_passed(frozen_clock: FrozenClock) -> None:
    throttle = IpThrottle(limit=3, window=timedelta(minutes=15))
    for _ in range(3):
        throttle.record_failure("203.0.113.9", frozen_clock.now())
        frozen_clock.advance(timedelta(minutes=1))
    assert throttle.blocked("203.0.113.9", frozen_clock.now())
    assert not throttle.blocked("198.51.100.7", frozen_clock.now())
    frozen_clock.advance(timedelta(minutes=13))
    assert not throttle.blocked("203.0.113.9", frozen_clock.now())


def test_the_client_throttle_keeps_a_bounded_memory(frozen_clock: FrozenClock) -> None:
    throttle = IpThrottle(limit=3)
    throttle._MAX_CLIENTS = 100
    for number in range(250):
        throttle.record_failure(f"10.0.{number // 256}.{number % 256}", frozen_clock.now())
    assert len(throttle._failures) <= 100
