"""Weekly check-ins in the dashboard: the programme page, a person's card, workers' changes.

`checkins_card(contact_id)` is a Jinja global: the contact card and the case page include
it, and it brings its own forms. Every change posts here and comes back to the page the
card was on (`next`), with a message saying what was done or why it could not be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_day_names
from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale  # type: ignore[import-untyped, unused-ignore]
from flask_wtf import FlaskForm  # type: ignore[import-untyped, unused-ignore]
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import HiddenField, RadioField, SelectField, TimeField  # type: ignore[import-untyped, unused-ignore]
from wtforms.validators import DataRequired, InputRequired  # type: ignore[import-untyped, unused-ignore]

from bot import clock, enrolments
from bot.charts import (
    AnswersText,
    BarGroup,
    Fill,
    Series,
    WeekPoint,
    WeekStatus,
    answers_chart,
    bar_chart,
)
from bot.dashboard.access import signed_in
from bot.dashboard.auth import local_path
from bot.dashboard.blueprint import blueprint
from bot.dashboard.i18n import _, _l
from bot.dashboard.programme import Numbers, programme
from bot.engine.steps.enrol_checkins import WEEKDAYS
from bot.enrolments import Change, EnrolmentRefused, Refusal, SlotChoice
from bot.extensions import conversations, database, settings
from bot.i18n import language_name
from bot.schedule import Slot
from storage.models import (
    Checkin,
    CheckinEnrolment,
    CheckinStatus,
    Contact,
    ContactAddress,
    EnrolmentChange,
    User,
)

# How many weeks the card's chart shows: about a quarter, legible on a phone.
CARD_WEEKS = 12
# The ONS loneliness answers, least lonely first: the chart's scale from 0 up.
LONELINESS = ("never", "hardly_ever", "occasionally", "some_of_the_time", "often")
LONELINESS_LABELS: dict[str, Any] = {
    "never": _l("Never"),
    "hardly_ever": _l("Hardly ever"),
    "occasionally": _l("Occasionally"),
    "some_of_the_time": _l("Some of the time"),
    "often": _l("Often or always"),
}
STATUS_LABELS: dict[str, Any] = {
    "active": _l("Active"),
    "paused": _l("Paused"),
    "stopped": _l("Stopped"),
}
WEEK_LABELS: dict[WeekStatus, Any] = {
    WeekStatus.ANSWERED: _l("Answered"),
    WeekStatus.MISSED: _l("Missed"),
    WeekStatus.SKIPPED: _l("Not sent"),
    WeekStatus.WAITING: _l("Waiting"),
}
CHANGE_LABELS: dict[str, Any] = {
    Change.ENROLLED: _l("Enrolled"),
    Change.PAUSED: _l("Paused"),
    Change.RESUMED: _l("Resumed"),
    Change.RESCHEDULED: _l("Day or time changed"),
    Change.STOPPED: _l("Stopped"),
}
CHANNEL_LABELS: dict[str, Any] = {
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "simulator": _l("Simulator"),
}
DONE: dict[Change, Any] = {
    Change.ENROLLED: _l("Weekly check-ins start at the next slot."),
    Change.PAUSED: _l("Check-ins are paused."),
    Change.RESUMED: _l("Check-ins resume at the next slot."),
    Change.RESCHEDULED: _l("The day and time of the check-ins are changed."),
    Change.STOPPED: _l("Check-ins are stopped."),
}
REFUSED: dict[Refusal, Any] = {
    Refusal.NO_CONTACT: _l("This person does not exist."),
    Refusal.ERASED: _l("This person's data was erased."),
    Refusal.OPTED_OUT: _l("This person asked to receive nothing more (STOP)."),
    Refusal.NO_CONSENT: _l(
        "This person refused that we keep their answers: they cannot be enrolled."
    ),
    Refusal.NO_ADDRESS: _l("This person has no address to write to."),
    Refusal.ALREADY_ENROLLED: _l("This person is already enrolled."),
    Refusal.NOT_ENROLLED: _l("This person is not enrolled."),
    Refusal.NOT_ACTIVE: _l("Check-ins are not running, so they cannot be paused."),
    Refusal.NOT_PAUSED: _l("Check-ins are not paused, so they cannot be resumed."),
}


def weekday_choices() -> list[tuple[int, str]]:
    """Monday to Sunday, named in the worker's language."""
    names = get_day_names("wide", locale=_locale())
    return [(day, names[day].capitalize()) for day in range(7)]


class SlotForm(FlaskForm):  # type: ignore[misc]
    """The weekly slot chosen with the person, and the monthly UCLA-3 questions."""

    weekday = SelectField(_l("Day"), choices=weekday_choices, coerce=int, default=1)
    time = TimeField(
        _l("Time"),
        description=_l(
            "In the person's timezone. Before 09:00, after 20:00 or on a Sunday only if they asked."
        ),
        validators=[DataRequired(message=_l("Enter a time, for example 10:00."))],
        default=datetime.strptime("10:00", "%H:%M").time(),
    )
    ucla_monthly = RadioField(
        _l("Three more questions once a month (UCLA-3)"),
        choices=[("yes", _l("Yes")), ("no", _l("No"))],
        default="no",
        validators=[InputRequired(message=_l("Choose yes or no."))],
    )
    next = HiddenField()

    def choice(self) -> SlotChoice:
        """The validated form as a slot choice."""
        moment = self.time.data
        return SlotChoice(
            weekday=int(self.weekday.data),
            minute_of_day=moment.hour * 60 + moment.minute,
            ucla_monthly=self.ucla_monthly.data == "yes",
        )


# --------------------------------------------------------------------- the card


@dataclass(frozen=True)
class WeekRow:
    """One week of the card's table: the plain alternative to the chart."""

    week: date
    label: str
    status: WeekStatus
    loneliness: str | None
    ucla_total: int | None
    wants_call: bool | None


@dataclass(frozen=True)
class HistoryRow:
    """One change of the enrolment, named for people."""

    at: datetime
    change: str
    by: str
    detail: str


@blueprint.app_template_global("checkins_card")
def checkins_card(contact_id: int) -> Markup:
    """The person's check-ins as HTML: enrolment, chart, table, history and actions."""
    with database().read() as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            return Markup("")
        enrolment = session.scalar(
            select(CheckinEnrolment).where(CheckinEnrolment.contact_id == contact_id)
        )
        weeks = _weeks(session, enrolment) if enrolment is not None else []
        history = _history(session, enrolment) if enrolment is not None else []
        can_enrol = (
            contact.erased_at is None
            and contact.opted_out_at is None
            and session.scalar(
                select(ContactAddress.id).where(ContactAddress.contact_id == contact_id).limit(1)
            )
            is not None
        )
        counts = _counts(session, enrolment) if enrolment is not None else {}
        form = SlotForm(formdata=None, prefix=f"checkins-{contact_id}")
        if enrolment is not None:
            form.weekday.data = enrolment.weekday
            form.time.data = Slot(enrolment.weekday, enrolment.minute_of_day, "UTC").local_time
            form.ucla_monthly.data = "yes" if enrolment.ucla_monthly else "no"
        form.next.data = request.full_path if request.query_string else request.path
        html = render_template(
            "dashboard/_checkins_card.html",
            contact_id=contact_id,
            enrolment=enrolment,
            slot=_slot_text(enrolment) if enrolment else None,
            next_due=_local(enrolment.next_due_at, enrolment.timezone) if enrolment else None,
            language=language_name(enrolment.language) if enrolment else None,
            channel=CHANNEL_LABELS.get(enrolment.channel, enrolment.channel) if enrolment else None,
            status=STATUS_LABELS.get(enrolment.status, enrolment.status) if enrolment else None,
            counts=counts,
            weeks=weeks,
            week_labels=WEEK_LABELS,
            loneliness_labels=LONELINESS_LABELS,
            chart=_chart(contact_id, weeks) if weeks else None,
            history=history,
            form=form,
            can_enrol=can_enrol,
        )
    # Safe: Jinja escaped everything the template put in.
    return Markup(html)  # noqa: S704


def _weeks(session: Session, enrolment: CheckinEnrolment) -> list[WeekRow]:
    checkins = list(
        session.scalars(
            select(Checkin)
            .where(Checkin.enrolment_id == enrolment.id)
            .order_by(Checkin.week_start.desc())
            .limit(CARD_WEEKS)
        )
    )
    rows = []
    for checkin in reversed(checkins):
        answers = checkin.answers or {}
        status = {
            CheckinStatus.ANSWERED: WeekStatus.ANSWERED,
            CheckinStatus.MISSED: WeekStatus.MISSED,
            CheckinStatus.SKIPPED: WeekStatus.SKIPPED,
            CheckinStatus.UNDELIVERED: WeekStatus.SKIPPED,
        }.get(CheckinStatus(checkin.status), WeekStatus.WAITING)
        loneliness = answers.get("loneliness") if status is WeekStatus.ANSWERED else None
        total = answers.get("ucla_total")
        wants_call = answers.get("wants_call")
        rows.append(
            WeekRow(
                week=checkin.week_start,
                label=format_date(checkin.week_start, "d MMM", locale=_locale()),
                status=status,
                loneliness=loneliness if loneliness in LONELINESS else None,
                ucla_total=total
                if isinstance(total, int) and not isinstance(total, bool)
                else None,
                wants_call=wants_call if isinstance(wants_call, bool) else None,
            )
        )
    return rows


def _counts(session: Session, enrolment: CheckinEnrolment) -> dict[str, int]:
    """Check-ins by status since the person enrolled (the chart shows only the last weeks)."""
    rows = session.execute(
        select(Checkin.status, func.count())
        .where(Checkin.enrolment_id == enrolment.id)
        .group_by(Checkin.status)
    ).tuples()
    return {str(status): count for status, count in rows}


def _chart(contact_id: int, weeks: list[WeekRow]) -> Markup:
    points = [
        WeekPoint(
            label=week.label,
            status=week.status,
            loneliness=LONELINESS.index(week.loneliness) if week.loneliness else None,
            ucla_total=week.ucla_total if week.status is WeekStatus.ANSWERED else None,
            summary=_week_summary(week),
        )
        for week in weeks
    ]
    answered = sum(1 for w in weeks if w.status is WeekStatus.ANSWERED)
    missed = sum(1 for w in weeks if w.status is WeekStatus.MISSED)
    text = AnswersText(
        title=_("Answers to the weekly check-in"),
        description=_(
            "How often the person feels lonely, week by week, from never (bottom) to often "
            "or always (top), over %(weeks)s weeks: %(answered)s answered, %(missed)s "
            "missed. The table below gives the same answers.",
            weeks=len(weeks),
            answered=answered,
            missed=missed,
        ),
        scale=tuple(str(LONELINESS_LABELS[key]) for key in LONELINESS),
        answered=_("Answered"),
        missed=_("Missed"),
        skipped=_("Not sent"),
        waiting=_("Waiting"),
        ucla=_("UCLA-3 total"),
        empty=_("No check-in yet."),
    )
    return answers_chart(points, text, id_prefix=f"checkins-chart-{contact_id}")


def _week_summary(week: WeekRow) -> str:
    parts = [_("Week of %(day)s", day=week.label), str(WEEK_LABELS[week.status])]
    if week.loneliness:
        parts.append(str(LONELINESS_LABELS[week.loneliness]))
    if week.ucla_total is not None:
        parts.append(_("UCLA-3 total %(total)s", total=week.ucla_total))
    return " — ".join(parts)


def _history(session: Session, enrolment: CheckinEnrolment) -> list[HistoryRow]:
    rows = session.execute(
        select(EnrolmentChange, User)
        .join(User, User.id == EnrolmentChange.actor_id, isouter=True)
        .where(EnrolmentChange.enrolment_id == enrolment.id)
        .order_by(EnrolmentChange.created_at.desc(), EnrolmentChange.id.desc())
    ).tuples()
    history = []
    for change, author in rows:
        detail = change.detail or {}
        # An outer join: no account for changes the person or the system made.
        user: User | None = author
        if user is not None:
            by = user.display_name or user.email
        elif detail.get("by") == "person":
            by = _("the person")
        else:
            by = "Relais"
        history.append(
            HistoryRow(
                at=change.created_at,
                change=str(CHANGE_LABELS.get(change.change, change.change)),
                by=by,
                detail=_change_detail(detail),
            )
        )
    return history


def _change_detail(detail: dict[str, Any]) -> str:
    weekday, moment = detail.get("weekday"), detail.get("time")
    if not isinstance(weekday, str) or not isinstance(moment, str):
        return ""
    names = dict(weekday_choices())
    day = names[WEEKDAYS.index(weekday)] if weekday in WEEKDAYS else weekday
    return _("%(day)s at %(time)s", day=day, time=moment)


def _slot_text(enrolment: CheckinEnrolment) -> str:
    slot = Slot(enrolment.weekday, enrolment.minute_of_day, enrolment.timezone)
    day = dict(weekday_choices())[slot.weekday]
    return _(
        "%(day)s at %(time)s (%(timezone)s)",
        day=day,
        time=slot.local_time.strftime("%H:%M"),
        timezone=enrolment.timezone,
    )


def _local(moment: datetime | None, timezone: str) -> str | None:
    """A moment as the person reads it on their clock, in the worker's language."""
    if moment is None:
        return None
    return str(
        format_datetime(moment, "EEEE d MMMM y, HH:mm", tzinfo=ZoneInfo(timezone), locale=_locale())
    )


def _locale() -> str:
    return str(get_locale() or "fr")


# -------------------------------------------------------------------- the actions


@blueprint.post("/contacts/<int:contact_id>/checkins/enrol")
def checkins_enrol(contact_id: int) -> ResponseReturnValue:
    """Enrol the person in weekly check-ins in the slot chosen with them."""
    return _slot_action(contact_id, Change.ENROLLED, enrolments.enrol)


@blueprint.post("/contacts/<int:contact_id>/checkins/slot")
def checkins_reschedule(contact_id: int) -> ResponseReturnValue:
    """Change the day, time or UCLA-3 choice of the person's check-ins."""
    return _slot_action(contact_id, Change.RESCHEDULED, enrolments.reschedule)


@blueprint.post("/contacts/<int:contact_id>/checkins/<any(pause, resume, stop):action>")
def checkins_status(contact_id: int, action: str) -> ResponseReturnValue:
    """Pause, resume or stop the person's check-ins."""
    change = {"pause": Change.PAUSED, "resume": Change.RESUMED, "stop": Change.STOPPED}[action]
    return _apply(
        change,
        request.form.get("next"),
        lambda now: enrolments.change_status(
            conversations(), contact_id, change, signed_in(), now, ip=request.remote_addr
        ),
    )


def _slot_action(
    contact_id: int, change: Change, act: Callable[..., object]
) -> ResponseReturnValue:
    """Validate the slot form, then enrol or reschedule with the chosen slot."""
    form = SlotForm(prefix=f"checkins-{contact_id}")
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return _back(form.next.data)
    return _apply(
        change,
        form.next.data,
        lambda now: act(
            conversations(), contact_id, form.choice(), signed_in(), now, ip=request.remote_addr
        ),
    )


def _apply(
    change: Change, next_page: str | None, act: Callable[[datetime], object]
) -> ResponseReturnValue:
    try:
        act(clock.now())
    except EnrolmentRefused as refused:
        flash(str(REFUSED[refused.reason]), "error")
    else:
        flash(str(DONE[change]), "success")
    return _back(next_page)


def _back(next_page: str | None) -> ResponseReturnValue:
    return redirect(local_path(next_page) or url_for("dashboard.checkins"))


# ------------------------------------------------------------------ the programme


@blueprint.get("/checkins")
def checkins() -> str:
    """The programme: this week by language and channel, and the last eight weeks."""
    timezone = settings().timezone
    with database().read() as session:
        numbers = programme(session, clock.now(), timezone)
    series = [
        Series("sent", _("Sent"), Fill.OUTLINE),
        Series("answered", _("Answered"), Fill.SOLID),
        Series("missed", _("Missed"), Fill.HATCH),
        Series("escalated", _("Escalated"), Fill.DOTS),
    ]
    groups = [
        BarGroup(
            label=format_date(week, "d MMM", locale=_locale()),
            values={s.key: getattr(counts, s.key) for s in series},
        )
        for week, counts in numbers.weeks
    ]
    chart = bar_chart(
        groups,
        series,
        title=_("Check-ins over the last %(weeks)s weeks", weeks=len(groups)),
        description=_(
            "For each week, starting on Monday: check-ins sent, answered, missed, and "
            "people escalated for lack of news. The table below gives the same numbers."
        ),
        id_prefix="programme-chart",
    )
    return render_template(
        "dashboard/checkins_programme.html",
        numbers=numbers,
        week_label=format_date(numbers.week, "d MMMM y", locale=_locale()),
        weeks=[(format_date(w, "d MMM y", locale=_locale()), n) for w, n in numbers.weeks],
        by_language=[(language_name(k), n) for k, n in numbers.by_language.items()],
        by_channel=[(CHANNEL_LABELS.get(k, k), n) for k, n in numbers.by_channel.items()],
        chart=chart,
        empty=numbers.total == Numbers() and not any(n != Numbers() for _w, n in numbers.weeks),
    )
