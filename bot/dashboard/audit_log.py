"""Supervisors read the audit log: newest first, filtered, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template, request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot.dashboard.access import supervisor_required
from bot.dashboard.blueprint import blueprint
from bot.dashboard.forms import ACTION_LABELS, AuditFilterForm
from bot.extensions import database, settings
from storage.models import AuditEntry, User

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """One page of entries, and where the neighbouring pages are."""

    entries: list[AuditEntry]
    number: int
    count: int
    total: int
    previous_url: str | None
    next_url: str | None

    @property
    def first(self) -> int:
        """Position of the first entry shown (1-based), 0 when there is none."""
        return (self.number - 1) * PAGE_SIZE + 1 if self.entries else 0

    @property
    def last(self) -> int:
        return (self.number - 1) * PAGE_SIZE + len(self.entries)


@blueprint.get("/audit")
@supervisor_required
def audit_log() -> tuple[str, int]:
    """The audit log with the filters from the query string."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        # Show what was wrong with the filters rather than an unfiltered log.
        return _render(form, None), 400
    number = max(request.args.get("page", 1, type=int) or 1, 1)
    query = _filtered(form)
    with database().read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        entries = list(
            session.scalars(
                query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                .limit(PAGE_SIZE)
                .offset((number - 1) * PAGE_SIZE)
            )
        )
        emails = _user_emails(session, entries)
    page = Page(
        entries=entries,
        number=number,
        count=max(1, -(-total // PAGE_SIZE)),
        total=total,
        previous_url=_page_url(number - 1) if number > 1 else None,
        next_url=_page_url(number + 1) if number * PAGE_SIZE < total else None,
    )
    return _render(form, page, emails), 200


def _filtered(form: AuditFilterForm) -> Select[tuple[AuditEntry]]:
    query = select(AuditEntry)
    if form.actor.data:
        needle = form.actor.data.strip().lower()
        query = query.where(func.lower(AuditEntry.actor).contains(needle, autoescape=True))
    if form.action.data:
        query = query.where(AuditEntry.action == form.action.data)
    # Dates are days in the association's timezone, both ends included.
    if form.date_from.data:
        query = query.where(AuditEntry.at >= _start_of(form.date_from.data))
    if form.date_to.data:
        query = query.where(AuditEntry.at < _start_of(form.date_to.data + timedelta(days=1)))
    return query


def _start_of(day: date) -> datetime:
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(settings().timezone))
    return local.astimezone(UTC)


def _user_emails(session: Session, entries: list[AuditEntry]) -> dict[int, str]:
    """E-mail addresses of the accounts the entries are about, to name them on the page."""
    ids = {e.target_id for e in entries if e.target_type == "user" and e.target_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.email).where(User.id.in_(ids))).tuples()
    return dict(rows.all())


def _page_url(number: int) -> str:
    arguments: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    return url_for(".audit_log", **arguments, page=number)


def _render(form: AuditFilterForm, page: Page | None, emails: dict[int, str] | None = None) -> str:
    return render_template(
        "dashboard/audit.html",
        form=form,
        page=page,
        emails=emails or {},
        labels=ACTION_LABELS,
        timezone=settings().timezone,
    )
