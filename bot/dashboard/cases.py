"""The case page: the person's card, the whole conversation, replies, notes and closing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import cases, clock
from bot.conversation import reply_address
from bot.dashboard.access import Account, signed_in
from bot.dashboard.blueprint import blueprint
from bot.dashboard.case_forms import ActionForm, CloseForm, NoteForm, ReassignForm, ReplyForm
from bot.dashboard.contacts import contact_card, record_read_today, record_view
from bot.dashboard.i18n import _
from bot.dashboard.queue import assignee_choices
from bot.extensions import conversations, database, settings
from bot.sms import segments
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    ContactAddress,
    Direction,
    Message,
    User,
)

# WhatsApp accepts free text only within 24 hours of the person's last message.
WHATSAPP_WINDOW = timedelta(hours=24)
# The transcript shows the latest messages; older ones stay in the export.
TRANSCRIPT_LIMIT = 300
# How often the open page asks for new messages (queue.js).
POLL_SECONDS = 10


@dataclass(frozen=True)
class Line:
    """One message of the transcript."""

    id: int
    outbound: bool
    kind: str
    author: str | None
    text: str
    at: datetime
    status: str
    failed: bool
    channel: str
    # The danger category the scan found in this message, to highlight it; None otherwise.
    danger: str | None = None


@dataclass(frozen=True)
class HistoryItem:
    """One event in the life of the case (claims, notes, replies, closing)."""

    kind: str
    actor: str | None
    body: str | None
    data: dict[str, Any] | None
    at: datetime


def transcript(session: Session, contact_id: int, *, after: int = 0) -> list[Line]:
    """The person's messages in and out, oldest first (the latest TRANSCRIPT_LIMIT)."""
    rows = list(
        session.scalars(
            select(Message)
            .where(Message.contact_id == contact_id, Message.id > after)
            .order_by(Message.id.desc())
            .limit(TRANSCRIPT_LIMIT)
        )
    )
    rows.reverse()
    authors = _names(session, {m.author_id for m in rows if m.author_id})
    return [
        Line(
            id=m.id,
            outbound=m.direction == Direction.OUT,
            kind=m.kind,
            author=authors.get(m.author_id) if m.author_id else None,
            text=m.text or "",
            at=m.created_at,
            status=m.status,
            failed=m.status in ("failed", "undelivered"),
            channel=m.channel,
            danger=((m.payload or {}).get("safety") or {}).get("category"),
        )
        for m in rows
    ]


def history(session: Session, case: Case) -> list[HistoryItem]:
    """The case's events, oldest first, with who did each."""
    events: list[CaseEvent] = list(case.events)
    actors = _names(session, {e.actor_id for e in events if e.actor_id})
    return [
        HistoryItem(
            kind=e.kind,
            actor=actors.get(e.actor_id) if e.actor_id else None,
            body=e.body,
            data=e.data,
            at=e.created_at,
        )
        for e in events
        if e.kind != "inbound"  # the message itself is in the conversation
    ]


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    if not ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user.display_name or user.email for user in users}


def _case_or_404(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def may_act(case: Case, account: Account) -> bool:
    """The holder and supervisors may write on a case that is not closed."""
    return case.status != CaseStatus.CLOSED and (
        case.assignee_id == account.id or account.is_supervisor
    )


def _page(
    case_id: int,
    *,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
    close_form: CloseForm | None = None,
) -> str:
    account = signed_in()
    now = clock.now()
    with database().write() as session:
        case = _case_or_404(session, case_id)
        record_view(session, account, case.contact_id, "case")
        card = contact_card(session, case.contact_id, except_case=case.id)
        address: ContactAddress | None = reply_address(session, case.contact_id)
        lines = transcript(session, case.contact_id)
        reassign = ReassignForm()
        reassign.assignee.choices = assignee_choices(session)
        if case.assignee_id:
            reassign.assignee.data = case.assignee_id
        context = {
            "case": case,
            "card": card,
            "lines": lines,
            "events": history(session, case),
            "holder": cases.holder_name(session, case.assignee_id) if case.assignee_id else None,
            "can_act": may_act(case, account),
            "is_holder": case.assignee_id == account.id,
            "address": address,
            "outside_whatsapp_window": address is not None
            and address.channel == Channel.WHATSAPP
            and (
                address.last_inbound_at is None or now - address.last_inbound_at > WHATSAPP_WINDOW
            ),
            "last_line_id": lines[-1].id if lines else 0,
            "due_at": cases.service_levels(current_app.config).due_at(
                case.priority, case.opened_at, settings().timezone
            ),
        }
        return render_template(
            "dashboard/case.html",
            **context,
            now=now,
            me=account,
            action_form=ActionForm(),
            reassign_form=reassign,
            reply_form=reply_form or ReplyForm(formdata=None),
            note_form=note_form or NoteForm(formdata=None),
            close_form=close_form or CloseForm(formdata=None),
            poll_seconds=POLL_SECONDS,
        )


@blueprint.get("/cases/<int:case_id>")
def case(case_id: int) -> str:
    """The case page (an audited view of the person's file)."""
    return _page(case_id)


@blueprint.get("/cases/<int:case_id>/messages")
def case_messages(case_id: int) -> str:
    """Messages newer than `after`, for the open page to append.

    Audited like any read of the person's messages, once a day per account: the route
    could be asked without ever opening the page.
    """
    account = signed_in()
    after = request.args.get("after", default=0, type=int)
    with database().write() as session:
        case = _case_or_404(session, case_id)
        record_read_today(session, account, case.contact_id, "messages")
        lines = transcript(session, case.contact_id, after=after)
    return render_template("dashboard/_messages.html", lines=lines)


@blueprint.post("/cases/<int:case_id>/reply")
def case_reply(case_id: int) -> ResponseReturnValue:
    """Queue the worker's reply on the person's channel."""
    account = signed_in()
    form = ReplyForm()
    if not form.validate_on_submit():
        return _page(case_id, reply_form=form), 400
    try:
        with database().write() as session:
            message = cases.reply(
                session, case_id, account, form.text.data, clock.now(), ip=request.remote_addr
            )
            channel = message.channel
    except cases.CaseError as error:
        flash(_refusal(error), "error")
        return redirect(url_for("dashboard.case", case_id=case_id), 303)
    if channel == Channel.SMS:
        count = segments(form.text.data.strip())
        flash(
            _(
                "Reply queued. It takes %(count)s SMS (%(encoding)s, %(units)s units).",
                count=str(count.segments),
                encoding=count.encoding,
                units=str(count.units),
            ),
            "success",
        )
    else:
        flash(_("Reply queued."), "success")
    return redirect(url_for("dashboard.case", case_id=case_id, _anchor="conversation"), 303)


@blueprint.post("/cases/<int:case_id>/note")
def case_note(case_id: int) -> ResponseReturnValue:
    """Add a private note to the case."""
    account = signed_in()
    form = NoteForm()
    if not form.validate_on_submit():
        return _page(case_id, note_form=form), 400
    try:
        with database().write() as session:
            cases.note(
                session, case_id, account, form.body.data, clock.now(), ip=request.remote_addr
            )
    except cases.CaseError as error:
        flash(_refusal(error), "error")
    else:
        flash(_("Note saved."), "success")
    return redirect(url_for("dashboard.case", case_id=case_id, _anchor="history"), 303)


@blueprint.post("/cases/<int:case_id>/close")
def case_close(case_id: int) -> ResponseReturnValue:
    """Close with an outcome; the person hears from the assistant again."""
    account = signed_in()
    form = CloseForm()
    if not form.validate_on_submit():
        return _page(case_id, close_form=form), 400
    say = conversations().say
    try:
        with database().write() as session:
            cases.close(
                session,
                case_id,
                account,
                clock.now(),
                outcome=form.outcome.data,
                follow_up_on=form.follow_up_on.data,
                hand_back=say,
                ip=request.remote_addr,
            )
    except cases.CaseError as error:
        flash(_refusal(error), "error")
        return redirect(url_for("dashboard.case", case_id=case_id), 303)
    flash(_("Case closed. The assistant answers the person again."), "success")
    return redirect(url_for("dashboard.queue"), 303)


def _refusal(error: cases.CaseError) -> str:
    """Why an action was refused, for the worker."""
    if isinstance(error, cases.CaseClosed):
        return _("This case is closed.")
    if isinstance(error, cases.NotHolder):
        return _("Only the worker holding this case, or a supervisor, can do this.")
    if isinstance(error, cases.NotHeld):
        return _("Claim the case first, so the person's answers come back to it.")
    if isinstance(error, cases.Unreachable):
        return _(
            "This person cannot be written to: they asked for no more messages, or have no address."
        )
    if isinstance(error, cases.CaseNotFound):
        return _("This case does not exist.")
    return _("This could not be done. Check the form and try again.")
