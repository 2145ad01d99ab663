"""Who is signed in, and what they may open: Flask-Login and the role decorators."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar, cast

from flask import abort, current_app
from flask_login import (  # type: ignore[import-untyped, unused-ignore]
    LoginManager,
    current_user,
    login_required,
)
from sqlalchemy import select

from bot.dashboard.i18n import N_, _
from bot.extensions import database
from storage.models import Role, User

__all__ = ["Account", "login_manager", "login_required", "signed_in", "supervisor_required"]

P = ParamSpec("P")
R = TypeVar("R")

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = N_("Please log in to open this page.")
login_manager.login_message_category = "info"
login_manager.localize_callback = _


@dataclass(frozen=True)
class Account:
    """The signed-in worker, read from the database at each request.

    A plain snapshot rather than the `User` row: it outlives the database session, and
    it carries no password hash into templates.
    """

    id: int
    email: str
    display_name: str | None
    role: str
    # Kept in the session and compared at each request: raising the account's version
    # (logout, deactivation, a new password, "log out everywhere") ends its sessions.
    session_version: int = field(repr=False, compare=False)
    # Changes with the password: a new password ends every session opened with the old,
    # even one changed behind the application's back.
    password_stamp: str = field(repr=False, compare=False)
    # Someone else chose the password: no page opens until the person chooses their own.
    must_change_password: bool = field(default=False, compare=False)

    is_authenticated = True
    is_active = True
    is_anonymous = False

    @classmethod
    def of(cls, user: User) -> Account:
        """The snapshot of an account row."""
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=user.role,
            session_version=user.session_version,
            password_stamp=password_stamp(user.password_hash),
            must_change_password=user.must_change_password,
        )

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the account, its session version and
        its password stamp."""
        return f"{self.id}:{self.session_version}:{self.password_stamp}"

    @property
    def name(self) -> str:
        """How the interface names this worker."""
        return self.display_name or self.email

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR


@login_manager.user_loader  # type: ignore[untyped-decorator, unused-ignore]
def load_account(session_id: str) -> Account | None:
    """The account behind a session, or None (the visitor must log in again) when the
    account is deactivated or its sessions were ended since this one began."""
    user_id, version, stamp = [*session_id.split(":"), "", ""][:3]
    if not user_id.isdigit() or not version.isdigit():
        return None
    with database().read() as session:
        user = session.scalar(select(User).where(User.id == int(user_id), User.active))
        if user is None:
            return None
        account = Account.of(user)
    if account.session_version != int(version):
        return None
    return account if hmac.compare_digest(account.password_stamp, stamp) else None


def password_stamp(password_hash: str) -> str:
    """A short keyed digest of the password hash, safe to keep in a readable cookie."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def signed_in() -> Account:
    """The current worker, for views behind `login_required`."""
    account = current_user._get_current_object()
    if not isinstance(account, Account):
        raise RuntimeError("signed_in() called in a view that does not require a login")
    return account


def supervisor_required(view: Callable[P, R]) -> Callable[P, R]:
    """Let supervisors in; workers get the 403 page, visitors the login page."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated:
            return cast(R, login_manager.unauthorized())
        if not signed_in().is_supervisor:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
