"""The queue: open and claimed cases, the most urgent and longest waiting first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from wtforms.fields.choices import SelectChoice  # type: ignore[import-untyped, unused-ignore]

from bot import cases, clock
from bot.dashboard.access import Account, signed_in, supervisor_required
from bot.dashboard.blueprint import blueprint
from bot.dashboard.case_forms import (
    ActionForm,
    QueueFilterForm,
    ReassignForm,
    language_choices,
    reason_choices,
)
from bot.dashboard.i18n import _
from bot.dashboard.labels import language_label, template_helpers
from bot.dashboard.masking import mask_address
from bot.extensions import database, settings
from bot.i18n import LANGUAGES, negotiate
from storage.models import Case, CaseStatus, Contact, ContactAddress, User

blueprint.app_context_processor(
    lambda: {**template_helpers(), "mask_address": mask_address, "duration": duration}
)

# How often the open page asks for a fresh list (queue.js; a meta refresh without JS).
REFRESH_SECONDS = 30


@dataclass(frozen=True)
class QueueRow:
    """One case as the queue shows it."""

    case_id: int
    contact_id: int
    contact_name: str | None
    priority: str
    reason: str
    category: str | None
    status: str
    language: str
    channel: str | None
    address: str | None
    opened_at: datetime
    waited: timedelta
    due_at: datetime | None
    # Time until the service level is missed, negative once it is; None without one.
    sla_left: timedelta | None
    assignee_id: int | None
    assignee_name: str | None

    @property
    def overdue(self) -> bool:
        """Unclaimed past its service level (a claimed case has someone on it)."""
        return (
            self.sla_left is not None
            and self.status == CaseStatus.OPEN
            and self.sla_left <= timedelta(0)
        )


def last_used_address(contact: Contact) -> ContactAddress | None:
    """The address the person last wrote from (where replies go)."""
    if not contact.addresses:
        return None
    oldest = datetime.min.replace(tzinfo=UTC)
    return max(contact.addresses, key=lambda a: (a.last_inbound_at or oldest, a.id))


def queue_rows(
    session: Session,
    account: Account,
    now: datetime,
    *,
    show: str = "all",
    reason: str = "",
    language: str = "",
) -> list[QueueRow]:
    """The open and claimed cases matching the filters, in queue order."""
    query = (
        select(Case, Contact)
        .join(Contact, Contact.id == Case.contact_id)
        .where(Case.status.in_([CaseStatus.OPEN, CaseStatus.CLAIMED]))
        .options(selectinload(Contact.addresses))
        .order_by(Case.priority_rank, Case.opened_at, Case.id)
    )
    if show == "mine":
        query = query.where(Case.assignee_id == account.id)
    elif show == "unassigned":
        query = query.where(Case.assignee_id.is_(None))
    if reason:
        query = query.where(Case.reason == reason)
    found = session.execute(query).all()
    names = _names(session, {case.assignee_id for case, _c in found if case.assignee_id})
    levels = cases.service_levels(current_app.config)
    default_language, timezone = settings().default_language, settings().timezone
    rows = []
    for case, contact in found:
        spoken = negotiate(contact.language, contact.language_hint, default_language)
        if language and spoken != language:
            continue
        address = last_used_address(contact)
        due_at = levels.due_at(case.priority, case.opened_at, timezone)
        rows.append(
            QueueRow(
                case_id=case.id,
                contact_id=contact.id,
                contact_name=contact.display_name,
                priority=case.priority,
                reason=case.reason,
                category=case.category,
                status=case.status,
                language=spoken,
                channel=address.channel if address else None,
                address=address.address if address else None,
                opened_at=case.opened_at,
                waited=now - case.opened_at,
                due_at=due_at,
                sla_left=None if due_at is None else due_at - now,
                assignee_id=case.assignee_id,
                assignee_name=names.get(case.assignee_id) if case.assignee_id else None,
            )
        )
    return rows


def duration(delta: timedelta | float) -> str:
    """A duration in words, in the worker's language ("12 min", "3 h", "2 j")."""
    seconds = abs(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    return format_timedelta(
        timedelta(seconds=max(seconds, 60)),
        granularity="minute",
        format="short",
        locale=str(get_locale() or "fr"),
    )


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    if not ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user.display_name or user.email for user in users}


def _filters() -> QueueFilterForm:
    form = QueueFilterForm(request.args)
    with database().read() as session:
        present = list(session.scalars(select(Case.reason).distinct()))
    form.reason.choices = reason_choices(present)
    form.language.choices = language_choices(LANGUAGES, language_label)
    if not form.validate():
        # A stale or hand-made link: show everything rather than an error.
        form = QueueFilterForm(formdata=None)
        form.reason.choices = reason_choices(present)
        form.language.choices = language_choices(LANGUAGES, language_label)
    return form


def _render(template: str) -> str:
    account = signed_in()
    form = _filters()
    now = clock.now()
    with database().read() as session:
        rows = queue_rows(
            session,
            account,
            now,
            show=form.show.data or "all",
            reason=form.reason.data or "",
            language=form.language.data or "",
        )
    return render_template(
        template,
        form=form,
        rows=rows,
        now=now,
        me=account,
        action_form=ActionForm(),
        refresh_seconds=REFRESH_SECONDS,
        table_url=_with_query(url_for("dashboard.queue_table")),
    )


def _with_query(path: str) -> str:
    """`path` with the current filters, so the refreshed list keeps them."""
    query = request.query_string.decode()
    return f"{path}?{query}" if query else path


@blueprint.get("/cases")
def queue() -> str:
    """The queue page, with its filters."""
    return _render("dashboard/queue.html")


@blueprint.get("/cases/table")
def queue_table() -> str:
    """Only the list, for the page to refresh itself."""
    return _render("dashboard/_queue_table.html")


@blueprint.post("/cases/<int:case_id>/claim")
def case_claim(case_id: int) -> ResponseReturnValue:
    """Take the case; whoever was first keeps it, and the other is told who."""
    account = signed_in()
    try:
        with database().write() as session:
            cases.claim(session, case_id, account, clock.now(), ip=request.remote_addr)
    except cases.AlreadyHeld as held:
        flash(_("%(name)s claimed this case first.", name=held.holder_name), "error")
    except cases.CaseClosed:
        flash(_("This case is closed."), "error")
    except cases.CaseNotFound:
        flash(_("This case does not exist."), "error")
        return redirect(url_for("dashboard.queue"), 303)
    else:
        flash(_("You hold this case. The person's messages now come to you."), "success")
    return redirect(url_for("dashboard.case", case_id=case_id), 303)


@blueprint.post("/cases/<int:case_id>/release")
def case_release(case_id: int) -> ResponseReturnValue:
    """Put the case back in the queue for someone else."""
    account = signed_in()
    try:
        with database().write() as session:
            cases.release(session, case_id, account, clock.now(), ip=request.remote_addr)
    except cases.CaseError:
        flash(_("You cannot release this case: you do not hold it."), "error")
        return redirect(url_for("dashboard.case", case_id=case_id), 303)
    flash(_("The case is back in the queue."), "success")
    return redirect(url_for("dashboard.queue"), 303)


@blueprint.post("/cases/<int:case_id>/reassign")
@supervisor_required
def case_reassign(case_id: int) -> ResponseReturnValue:
    """Give the case to another worker (supervisors)."""
    account = signed_in()
    form = ReassignForm()
    with database().read() as session:
        form.assignee.choices = assignee_choices(session)
    if not form.validate_on_submit():
        flash(_("Choose who to give the case to."), "error")
        return redirect(url_for("dashboard.case", case_id=case_id), 303)
    try:
        with database().write() as session:
            cases.reassign(
                session, case_id, account, form.assignee.data, clock.now(), ip=request.remote_addr
            )
            name = cases.holder_name(session, form.assignee.data)
    except cases.CaseClosed:
        flash(_("This case is closed."), "error")
    except cases.CaseError:
        flash(_("The case could not be reassigned."), "error")
    else:
        flash(_("The case is now held by %(name)s.", name=name), "success")
    return redirect(url_for("dashboard.case", case_id=case_id), 303)


def assignee_choices(session: Session) -> list[Any]:
    """Active accounts a case can be given to."""
    users = session.scalars(select(User).where(User.active).order_by(User.email))
    return [SelectChoice(str(user.id), user.display_name or user.email) for user in users]
