"""The audit log: who did what to whose file, and when — never what was said.

Every part of Relais writes audit entries through `record`, with an action from the
vocabulary below, so supervisors can filter the log by a name that means one thing.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from bot import clock
from storage.models import AuditEntry

LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
USER_CREATE = "user.create"
USER_UPDATE = "user.update"
CONTACT_VIEW = "contact.view"
CASE_CLAIM = "case.claim"
CASE_RELEASE = "case.release"
CASE_REASSIGN = "case.reassign"
CASE_REPLY = "case.reply"
CASE_NOTE = "case.note"
CASE_CLOSE = "case.close"
CONTACT_EXPORT = "contact.export"
CONTACT_ERASE = "contact.erase"
# A worker enrolled a person in weekly check-ins or changed their enrolment (`detail.change`).
CHECKIN_ENROLMENT = "checkin.enrolment"

ACTIONS: tuple[str, ...] = (
    LOGIN,
    LOGIN_FAILED,
    LOGOUT,
    USER_CREATE,
    USER_UPDATE,
    CONTACT_VIEW,
    CASE_CLAIM,
    CASE_RELEASE,
    CASE_REASSIGN,
    CASE_REPLY,
    CASE_NOTE,
    CASE_CLOSE,
    CONTACT_EXPORT,
    CONTACT_ERASE,
    CHECKIN_ENROLMENT,
)

SYSTEM = "system"
# Longer strings are refused in `detail`: reasons, roles and codes are short, and the
# limit stops a message text or a note from slipping into the log by mistake.
MAX_DETAIL_STRING = 64
_MAX_ACTOR = 254
_MAX_IP = 45

DetailValue = str | int | float | bool | None


class Actor(Protocol):
    """Anything with an account id and an e-mail: a `User` row or a signed-in worker."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...


class AuditError(ValueError):
    """An entry that must not be written: unknown action, or content in `detail`."""


def record(
    session: Session,
    *,
    actor: Actor | str | None,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, DetailValue] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add one audit entry to `session` (committed with the change it records)."""
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}; add it to bot.audit.ACTIONS")
    _check_detail(detail)
    if actor is None or isinstance(actor, str):
        actor_id, actor_name = None, actor or SYSTEM
    else:
        actor_id, actor_name = actor.id, actor.email
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor_id,
        actor=actor_name[:_MAX_ACTOR],
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=dict(detail) if detail else None,
        ip=ip[:_MAX_IP] if ip else None,
    )
    session.add(entry)
    return entry


def _check_detail(detail: dict[str, Any] | None) -> None:
    for key, value in (detail or {}).items():
        if not isinstance(value, DetailValue):
            raise AuditError(f"audit detail {key!r} must be a plain value, not {type(value)}")
        if isinstance(value, str) and len(value) > MAX_DETAIL_STRING:
            raise AuditError(f"audit detail {key!r} looks like content, not a code")
