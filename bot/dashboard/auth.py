"""The `auth` blueprint: /login, /logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import (  # type: ignore[import-untyped, unused-ignore]
    current_user,
    login_required,
    login_user,
    logout_user,
)

from bot import audit
from bot.accounts import end_sessions_of
from bot.dashboard.access import Account, signed_in
from bot.dashboard.errors import register_error_pages
from bot.dashboard.forms import LoginForm
from bot.dashboard.i18n import LANGUAGES, SESSION_KEY, _
from bot.dashboard.security import secure_blueprint
from bot.dashboard.signin import Refusal, authenticate
from bot.dashboard.throttle import ip_throttle
from bot.extensions import database

blueprint = Blueprint("auth", __name__)
secure_blueprint(blueprint, login=False)
register_error_pages(blueprint)

# Where a worker lands after logging in when no page was asked for.
LANDING_ENDPOINT_KEY = "DASHBOARD_LANDING_ENDPOINT"


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: `next` never leads elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read a backslash as a slash ("/\\evil.example") and drop control
    # characters, so either could turn a path into another host.
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def landing(target: str | None) -> str:
    """The page asked for before logging in, or the configured landing page."""
    return local_path(target) or url_for(current_app.config[LANDING_ENDPOINT_KEY])


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; sign the worker in when the e-mail and password match."""
    if current_user.is_authenticated:
        return redirect(landing(request.args.get("next")))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = local_path(request.args.get("next")) or ""
    if not form.validate_on_submit():
        return render_template("dashboard/login.html", form=form)
    attempt = authenticate(
        database(), ip_throttle(), form.email.data, form.password.data, request.remote_addr
    )
    if attempt.account is not None:
        _start_session(attempt.account)
        return redirect(landing(form.next.data))
    if attempt.refusal is Refusal.THROTTLED:
        error = _("Too many attempts from this connection. Try again in a few minutes.")
        return render_template("dashboard/login.html", form=form, error=error), 429
    # One message for every refusal: it must not tell whether the address has an account.
    error = _(
        "The e-mail address or the password is wrong, or there were too many attempts. "
        "Check them and try again in a moment."
    )
    return render_template("dashboard/login.html", form=form, error=error)


@blueprint.post("/logout")
@login_required  # type: ignore[untyped-decorator, unused-ignore]
def logout() -> ResponseReturnValue:
    """Sign out everywhere, leaving a trace in the audit log.

    The account's session version goes up, so this cookie, or a copy of it, no longer
    opens anything; the account's sessions on other devices end with it.
    """
    account = signed_in()
    with database().write() as db_session:
        end_sessions_of(db_session, account.id)
        audit.record(
            db_session,
            actor=account,
            action=audit.LOGOUT,
            target_type="user",
            target_id=account.id,
            ip=request.remote_addr,
        )
    logout_user()
    _reset_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@blueprint.post("/language")
def language() -> ResponseReturnValue:
    """Remember the interface language chosen with the fr/en switch."""
    chosen = request.form.get("language")
    if chosen in LANGUAGES:
        session[SESSION_KEY] = chosen
    return redirect(local_path(request.form.get("next")) or url_for("auth.login"))


def _start_session(account: Account) -> None:
    # A fresh session at login: nothing set before signing in carries over, except the
    # language the worker picked on the login page.
    _reset_session()
    session.permanent = True
    login_user(account)


def _reset_session() -> None:
    chosen = session.get(SESSION_KEY)
    session.clear()
    if chosen is not None:
        session[SESSION_KEY] = chosen
