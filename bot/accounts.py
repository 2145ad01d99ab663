"""Dashboard accounts: creation, password rules, hashing, and ending sessions."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn  # type: ignore[import-untyped, unused-ignore]

from bot import audit, clock
from storage.models import Role, User

MIN_PASSWORD_LENGTH = 12
# zxcvbn's score, 0 to 4: 3 means about 10^10 guesses ("safely unguessable" online, which
# is where the dashboard's locks and throttles keep an attacker).
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its work grows fast with the length); the first 72
# characters of a longer password are what is judged.
_ZXCVBN_MAX_LENGTH = 72
# zxcvbn keeps the user's words in a module-level dictionary while it checks: one check
# at a time, or two requests could judge each other's passwords with the wrong names.
_ZXCVBN_LOCK = threading.Lock()
# Deliberately loose: the real check is that the worker can log in.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


class WeakPassword(AccountError):
    """The password is too short or too easy to guess."""


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """A salted scrypt hash; the password itself is never stored."""
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    return check_password_hash(password_hash, password)


def check_password(password: str, *, email: str, display_name: str | None = None) -> None:
    """Refuse a password shorter than MIN_PASSWORD_LENGTH or easy to guess.

    zxcvbn knows common passwords (French ones too), words, names, dates, keyboard rows,
    repeats and sequences; the account's own e-mail and name, and "relais", are added to
    what it tries first.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password_score(password, personal_words(email, display_name)) < MIN_PASSWORD_SCORE:
        raise WeakPassword(
            "this password is too easy to guess: avoid common passwords, repeats, "
            "sequences and names; a few unusual words in a row make a good one"
        )


def password_score(password: str, user_inputs: Iterable[str] = ()) -> int:
    """zxcvbn's strength score of `password`, from 0 (guessed at once) to 4."""
    with _ZXCVBN_LOCK:
        result = zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=list(user_inputs))
    return int(result["score"])


def personal_words(email: str, display_name: str | None) -> list[str]:
    """What a guesser who knows the worker tries first: their address, name, "relais"."""
    # zxcvbn ranks these words by their place in the list: the likeliest first.
    words: list[str] = []
    if display_name:
        parts = display_name.split()
        words += [display_name, "".join(parts), *parts]
    local, _at, domain = email.partition("@")
    local_parts = re.split(r"[._+-]", local)
    words += [local, email, "".join(local_parts), " ".join(local_parts), *local_parts, "relais"]
    words += [domain, *domain.split(".")]
    return [word for word in words if word]


def create_user(
    session: Session,
    email: str,
    password: str,
    role: Role,
    *,
    actor: audit.Actor | str = "cli",
    display_name: str | None = None,
    must_change_password: bool = True,
) -> User:
    """Create an account; refuse a malformed e-mail, a weak password or a duplicate.

    The password was chosen by someone else (a supervisor, whoever ran the command), so
    by default the person must replace it before the dashboard opens for them.
    """
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an e-mail address")
    check_password(password, email=email, display_name=display_name)
    exists = session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if exists:
        raise AccountError(f"an account for {email} already exists")
    now = clock.now()
    user = User(
        email=email,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        session_version=0,
        must_change_password=must_change_password,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.USER_CREATE,
        target_type="user",
        target_id=user.id,
        detail={"role": role.value},
    )
    return user


def set_password(user: User, password: str, *, must_change: bool) -> None:
    """Give `user` a new password (checked), ending every session opened before.

    `must_change` is true when someone else chose it (a supervisor's reset): the person
    then has to replace it before any dashboard page opens.
    """
    check_password(password, email=user.email, display_name=user.display_name)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    end_sessions(user)


def end_sessions(user: User) -> None:
    """End every session of `user`, wherever it was opened, at its next request."""
    user.session_version = (user.session_version or 0) + 1


def end_sessions_of(session: Session, user_id: int) -> None:
    """`end_sessions` for an account not loaded: one UPDATE, safe against a concurrent one."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
