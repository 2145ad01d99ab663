"""Checking a login attempt: password, locks, counters and the audit trail.

Wrong passwords are counted per account *and* client address (`login_failures`): the
lock they lead to shuts that address out of that account only, so someone failing on
purpose never keeps the worker out from their own connection. Across accounts, a noisy
address is slowed by the in-memory throttle.
"""

from __future__ import annotations

import enum
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import audit, clock
from bot.accounts import hash_password, normalise_email, verify_password
from bot.dashboard.access import Account
from bot.dashboard.throttle import FAILURE_MEMORY, IpThrottle, client_key, lock_delay
from storage.db import Database
from storage.models import LoginFailure, User

# Failed attempts have no actor: nobody is signed in, and the typed e-mail may be a
# password typed in the wrong field, so it is never written down.
ANONYMOUS = "anonymous"


class Refusal(enum.StrEnum):
    """Why an attempt failed; kept in the audit log, never shown to the visitor."""

    MISMATCH = "mismatch"  # the password does not match
    UNKNOWN = "unknown_account"
    INACTIVE = "inactive"
    LOCKED = "locked"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class Attempt:
    """The outcome of one login attempt: an account, or the reason for refusing."""

    account: Account | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class _Candidate:
    id: int
    password_hash: str
    active: bool
    locked_until: datetime | None


def authenticate(
    database: Database, throttle: IpThrottle, email: str, password: str, ip: str | None
) -> Attempt:
    """Check `email` and `password`; update the counters and audit either way."""
    now = clock.now()
    client = client_key(ip)
    if throttle.blocked(client, now):
        return _refuse(database, Refusal.THROTTLED, None, ip, client, now)
    candidate = _find(database, normalise_email(email), client)
    refusal = _check(candidate, password, now)
    if refusal is None and candidate is not None:
        account = _succeed(database, candidate.id, now, ip, client)
        if account is not None:
            return Attempt(account=account)
        refusal = Refusal.INACTIVE
    throttle.record_failure(client, now)
    return _refuse(database, refusal or Refusal.UNKNOWN, candidate, ip, client, now)


def _find(database: Database, email: str, client: str) -> _Candidate | None:
    with database.read() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            return None
        locked_until = session.scalar(
            select(LoginFailure.locked_until).where(
                LoginFailure.user_id == user.id, LoginFailure.client == client
            )
        )
        return _Candidate(user.id, user.password_hash, user.active, locked_until)


def _check(candidate: _Candidate | None, password: str, now: datetime) -> Refusal | None:
    # Hash something on every path: answering faster for an unknown or locked account
    # would tell a guesser which e-mail addresses exist.
    if candidate is None:
        verify_password(_decoy_hash(), password)
        return Refusal.UNKNOWN
    if not candidate.active:
        verify_password(_decoy_hash(), password)
        return Refusal.INACTIVE
    if candidate.locked_until is not None and candidate.locked_until > now:
        verify_password(_decoy_hash(), password)
        return Refusal.LOCKED
    if not verify_password(candidate.password_hash, password):
        return Refusal.MISMATCH
    return None


def _succeed(
    database: Database, user_id: int, now: datetime, ip: str | None, client: str
) -> Account | None:
    with database.write() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        # Deactivated between the check and now: refuse rather than sign in.
        if user is None or not user.active:
            return None
        # Only this address's count: failures from elsewhere keep their own lock.
        session.execute(
            delete(LoginFailure).where(
                LoginFailure.user_id == user_id, LoginFailure.client == client
            )
        )
        user.last_login_at = now
        audit.record(
            session, actor=user, action=audit.LOGIN, target_type="user", target_id=user.id, ip=ip
        )
        return Account.of(user)


def _refuse(
    database: Database,
    refusal: Refusal,
    candidate: _Candidate | None,
    ip: str | None,
    client: str,
    now: datetime,
) -> Attempt:
    detail: dict[str, audit.DetailValue] = {"reason": refusal.value}
    with database.write() as session:
        if refusal is Refusal.MISMATCH and candidate is not None:
            failures = _count_failure(session, candidate.id, client, now)
            delay = lock_delay(failures)
            if delay is not None:
                session.execute(
                    update(LoginFailure)
                    .where(LoginFailure.user_id == candidate.id, LoginFailure.client == client)
                    .values(locked_until=now + delay)
                )
                detail["locked_seconds"] = int(delay.total_seconds())
            detail["failures"] = failures
        audit.record(
            session,
            actor=ANONYMOUS,
            action=audit.LOGIN_FAILED,
            target_type="user" if candidate is not None else None,
            target_id=candidate.id if candidate is not None else None,
            detail=detail,
            ip=ip,
        )
    return Attempt(refusal=refusal)


def _count_failure(session: Session, user_id: int, client: str, now: datetime) -> int:
    """Add one wrong password for (account, client); the count of them in a row.

    One INSERT … ON CONFLICT DO UPDATE, so concurrent attempts cannot both slip through
    with the same count. Counts whose last failure is older than FAILURE_MEMORY, for
    every account, are deleted first: this one then starts again from 1.
    """
    session.execute(delete(LoginFailure).where(LoginFailure.last_failure_at < now - FAILURE_MEMORY))
    table: Any = LoginFailure.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = (
        insert.values(
            user_id=user_id, client=client, failures=1, locked_until=None, last_failure_at=now
        )
        .on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.client],
            set_={"failures": table.c.failures + 1, "last_failure_at": now},
        )
        .returning(table.c.failures)
    )
    return int(session.execute(statement).scalar_one())


@functools.cache
def _decoy_hash() -> str:
    """A hash of a random password, made once per process, to check against in vain."""
    return hash_password(secrets.token_urlsafe(32))
