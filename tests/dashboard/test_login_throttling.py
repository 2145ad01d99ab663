"""Wrong passwords slow further tries: per account (in the database) and per client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from bot.dashboard.throttle import IpThrottle, lock_delay
from storage.db import Database
from storage.models import User
from tests.browser import Credentials
from tests.conftest import FrozenClock
from tests.dashboard.client import log_in, text

GENERIC_REFUSAL = "L’adresse e-mail ou le mot de passe est incorrect"
LONGER_THAN_ANY_LOCK = timedelta(minutes=16)


def _user(db: Database, user_id: int) -> User:
    with db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def test_ten_wrong_passwords_in_a_row_lock_the_account_for_longer_each_time(
    client: FlaskClient, worker: Credentials, db: Database, frozen_clock: FrozenClock
) -> None:
    for _ in range(10):
        response = log_in(client, worker.email, "wrong password, again")
        assert GENERIC_REFUSAL in text(response)
        # Wait out each lock so every try is really checked and counted.
        frozen_clock.advance(LONGER_THAN_ANY_LOCK)
    frozen_clock.advance(-LONGER_THAN_ANY_LOCK)
    user = _user(db, worker.id)
    assert user.failed_logins == 10
    assert user.locked_until == frozen_clock.now() + timedelta(seconds=32)

    refused = log_in(client, worker.email, worker.password)
    assert GENERIC_REFUSAL in text(refused)
    frozen_clock.advance(timedelta(seconds=31))
    assert GENERIC_REFUSAL in text(log_in(client, worker.email, worker.password))

    frozen_clock.advance(timedelta(seconds=2))
    accepted = log_in(client, worker.email, worker.password)
    assert accepted.status_code == 302
    user = _user(db, worker.id)
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_tries_during_a_lock_are_refused_without_checking_or_counting(
    client: FlaskClient, worker: Credentials, db: Database, frozen_clock: FrozenClock
) -> None:
    for _ in range(5):
        log_in(client, worker.email, "wrong password, again")
    assert _user(db, worker.id).locked_until == frozen_clock.now() + timedelta(seconds=1)
    for _ in range(3):
        assert GENERIC_REFUSAL in text(log_in(client, worker.email, worker.password))
    assert _user(db, worker.id).failed_logins == 5


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
