"""`/simulator`: talk to the flows as a person would, and see what their phone shows.

For flow authors and trainers. Each worker's simulated person (address, language, the
kind of phone, how far their clock has moved) is kept in the worker's session; every
action is a form post followed by a redirect, so the page works without JavaScript.
The blueprint is registered with the dashboard's (see the end of this module).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from babel.dates import format_datetime
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import get_locale  # type: ignore[import-untyped, unused-ignore]
from flask_wtf import FlaskForm  # type: ignore[import-untyped, unused-ignore]
from wtforms import RadioField, SelectField, StringField  # type: ignore[import-untyped, unused-ignore]
from wtforms.validators import (  # type: ignore[import-untyped, unused-ignore]
    DataRequired,
    Length,
    Optional,
    Regexp,
)

from bot.dashboard.blueprint import blueprint as dashboard_blueprint
from bot.dashboard.errors import register_error_pages
from bot.dashboard.i18n import _l, ngettext
from bot.dashboard.phone import screen
from bot.dashboard.security import secure_blueprint
from bot.dashboard.simulation import DISPLAYS, Simulation, SimulatorState, new_address
from bot.engine.text import RTL_LANGUAGES
from bot.extensions import conversations, database, settings
from bot.i18n import LANGUAGES, language_name

blueprint = Blueprint("simulator", __name__, url_prefix="/simulator")
secure_blueprint(blueprint)
register_error_pages(blueprint)

SESSION_KEY = "simulator"
# "Let time pass": long enough for the check-in's reminder (24 h) and its end (72 h).
WAITS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "72h": timedelta(hours=72),
}
MAX_TEXT = 1600  # what one long SMS can carry; more is a mistake


def display_choices() -> list[tuple[str, Any]]:
    return [("sms", _l("SMS")), ("whatsapp", _l("WhatsApp")), ("telegram", _l("Telegram"))]


def language_choices() -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in LANGUAGES]


def flow_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(conversations().runtime.library.flows)]


class MessageForm(FlaskForm):  # type: ignore[misc]
    """What the person types (or the label of the Telegram button they press)."""

    text = StringField(
        _l("Message"),
        validators=[
            DataRequired(message=_l("Type a message first.")),
            Length(max=MAX_TEXT, message=_l("Use at most %(max)d characters.", max=MAX_TEXT)),
        ],
        render_kw={"autocomplete": "off", "dir": "auto"},
    )


class PersonForm(FlaskForm):  # type: ignore[misc]
    """Who the simulated person is: their address and their phone's language."""

    address = StringField(
        _l("Address"),
        description=_l("Leave it as it is, or type an address to go back to a conversation."),
        validators=[
            Optional(),
            Length(max=64, message=_l("Use at most %(max)d characters.", max=64)),
            Regexp(r"^[\w.+:@-]+$", message=_l("Use letters, digits and . + : @ - _ only.")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    language = SelectField(
        _l("Language of the phone"),
        description=_l(
            "Another language starts a new person: someone who wrote already keeps theirs."
        ),
        choices=language_choices,
    )


class DisplayForm(FlaskForm):  # type: ignore[misc]
    """How the phone shows messages."""

    display = RadioField(_l("Display as"), choices=display_choices)


class FlowForm(FlaskForm):  # type: ignore[misc]
    """Start a flow now, as the scheduler or a worker would."""

    flow = SelectField(_l("Flow"), choices=flow_choices)


def _state() -> SimulatorState:
    return SimulatorState.from_session(session.get(SESSION_KEY), settings().default_language)


def _save(state: SimulatorState) -> None:
    session[SESSION_KEY] = state.to_session()


def _back(anchor: str = "phone-end") -> ResponseReturnValue:
    return redirect(url_for("simulator.index", _anchor=anchor))


@blueprint.get("/")
def index() -> str:
    """The phone, the composer, and the controls around them."""
    state = _state()
    _save(state)
    with database().read() as db:
        shown = screen(db, state.address, state.display)
    person = PersonForm(formdata=None, address=state.address, language=state.language)
    return render_template(
        "simulator/index.html",
        state=state,
        screen=shown,
        message_form=MessageForm(formdata=None),
        person_form=person,
        display_form=DisplayForm(formdata=None, display=state.display),
        flow_form=FlowForm(formdata=None),
        waits=list(WAITS),
        rtl=state.language in RTL_LANGUAGES,
        person_time=_when(state),
        sms_label=_sms_label,
        when=lambda moment: format_datetime(moment, "EEE d MMM, HH:mm", locale=_locale()),
    )


@blueprint.post("/send")
def send() -> ResponseReturnValue:
    """The person sends a message."""
    form = MessageForm()
    if form.validate():
        Simulation(conversations(), _state()).say(form.text.data)
    return _back("composer")


@blueprint.post("/start")
def start() -> ResponseReturnValue:
    """Start the chosen flow for the person."""
    form = FlowForm()
    if form.validate():
        Simulation(conversations(), _state()).start(form.flow.data)
    return _back()


@blueprint.post("/wait")
def wait() -> ResponseReturnValue:
    """Let time pass for the person: due reminders and timeouts happen on the way."""
    duration = WAITS.get(request.form.get("duration", ""))
    if duration is not None:
        _save(Simulation(conversations(), _state()).let_time_pass(duration))
    return _back()


@blueprint.post("/person")
def person() -> ResponseReturnValue:
    """Become another person: a typed address, or a new one for a new language."""
    form = PersonForm()
    state = _state()
    if form.validate():
        address = (form.address.data or "").strip() or state.address
        if address == state.address and form.language.data != state.language:
            address = new_address()
        if address != state.address:
            state = SimulatorState(
                address=address, language=form.language.data, display=state.display
            )
            # Back to an earlier conversation: its clock never runs backwards.
            state = _catch_up(state)
        _save(state)
    return _back()


@blueprint.post("/display")
def display() -> ResponseReturnValue:
    """Show the same conversation as another kind of phone."""
    form = DisplayForm()
    if form.validate() and form.display.data in DISPLAYS:
        _save(replace(_state(), display=form.display.data))
    return _back()


@blueprint.post("/reset")
def reset() -> ResponseReturnValue:
    """A new conversation: a new address, so the flows meet a new person."""
    state = _state()
    _save(SimulatorState(address=new_address(), language=state.language, display=state.display))
    return _back()


def _catch_up(state: SimulatorState) -> SimulatorState:
    with database().read() as db:
        shown = screen(db, state.address, state.display)
    if not shown.bubbles:
        return state
    ahead = (shown.bubbles[-1].at - state.now()).total_seconds()
    return replace(state, offset=max(0, round(ahead))) if ahead > 0 else state


def _when(state: SimulatorState) -> str | None:
    """The person's clock, when it is ahead of the real one."""
    if state.offset <= 0:
        return None
    return str(format_datetime(state.now(), "EEEE d MMMM, HH:mm", locale=_locale()))


def _sms_label(count: Any) -> str:
    return ngettext(
        "%(num)d SMS (%(encoding)s, %(units)s units)",
        "%(num)d SMS (%(encoding)s, %(units)s units)",
        count.segments,
        encoding=count.encoding,
        units=count.units,
    )


def _locale() -> str:
    return str(get_locale() or "fr")


@dashboard_blueprint.record_once
def _register(state: BlueprintSetupState) -> None:
    # Any app with the dashboard has the simulator: it is registered with it, at /simulator
    # (outside /queue), so init_dashboard needs no change for it.
    state.app.register_blueprint(blueprint)
