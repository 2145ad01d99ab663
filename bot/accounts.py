"""Dashboard accounts: creation and password hashing."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot import audit, clock
from storage.models import Role, User

MIN_PASSWORD_LENGTH = 12
# Deliberately loose: the real check is that the worker can log in.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why."""


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """A salted scrypt hash; the password itself is never stored."""
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    return check_password_hash(password_hash, password)


def create_user(
    session: Session, email: str, password: str, role: Role, *, actor: audit.Actor | str = "cli"
) -> User:
    """Create an account; refuse a malformed e-mail, a short password or a duplicate."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an e-mail address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    exists = session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if exists:
        raise AccountError(f"an account for {email} already exists")
    now = clock.now()
    user = User(email=email, password_hash=hash_password(password), role=role, created_at=now)
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
