"""Checking a login attempt: password, locks, counters and the audit trail."""

from __future__ import annotations

import enum
import functools
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from bot import audit, clock
from bot.accounts import hash_password, normalise_email, verify_password
from bot.dashboard.access import Account
from bot.dashboard.throttle import IpThrottle, lock_delay
from storage.db import Database
from storage.models import User

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
    client = ip or "unknown"
    if throttle.blocked(client, now):
        return _refuse(database, Refusal.THROTTLED, None, ip, now)
    candidate = _find(database, normalise_email(email))
    refusal = _check(candidate, password, now)
    if refusal is None and candidate is not None:
        account = _succeed(database, candidate.id, now, ip)
        if account is not None:
            return Attempt(account=account)
        refusal = Refusal.INACTIVE
    throttle.record_failure(client, now)
    return _refuse(database, refusal or Refusal.UNKNOWN, candidate, ip, now)


def _find(database: Database, email: str) -> _Candidate | None:
    with database.read() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            return None
        return _Candidate(user.id, user.password_hash, user.active, user.locked_until)


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


def _succeed(database: Database, user_id: int, now: datetime, ip: str | None) -> Account | None:
    with database.write() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update())
        # Deactivated between the check and now: refuse rather than sign in.
        if user is None or not user.active:
            return None
        user.failed_logins = 0
        user.locked_until = None
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
    now: datetime,
) -> Attempt:
    detail: dict[str, audit.DetailValue] = {"reason": refusal.value}
    with database.write() as session:
        if refusal is Refusal.MISMATCH and candidate is not None:
            # Counted in the database so concurrent attempts cannot both slip through
            # with the same count.
            failures = session.execute(
                update(User)
                .where(User.id == candidate.id)
                .values(failed_logins=User.failed_logins + 1)
                .returning(User.failed_logins)
            ).scalar_one()
            delay = lock_delay(failures)
            if delay is not None:
                session.execute(
                    update(User).where(User.id == candidate.id).values(locked_until=now + delay)
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


@functools.cache
def _decoy_hash() -> str:
    """A hash of a random password, made once per process, to check against in vain."""
    return hash_password(secrets.token_urlsafe(32))
