"""Every worker changes their own password at /queue/password; a password someone else
chose (a supervisor, `relais users create`) must be changed there before anything else."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy.orm import Session

from bot import audit, clock
from bot.accounts import WeakPassword, set_password, verify_password
from bot.dashboard.access import Account, signed_in
from bot.dashboard.blueprint import blueprint
from bot.dashboard.forms import ChangePasswordForm, weak_password_message
from bot.dashboard.i18n import _
from bot.dashboard.throttle import client_key, ip_throttle
from bot.extensions import database
from storage.models import User


@blueprint.route("/password", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    """The current password, then the new one twice; every other session ends."""
    me = signed_in()
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("dashboard/password.html", form=form, me=me), status
    # Guessing the current password from a session left open counts like guessing it
    # at the login form: the same per-address throttle slows it.
    throttle, client, now = ip_throttle(), client_key(request.remote_addr), clock.now()
    if throttle.blocked(client, now):
        error = _("Too many attempts from this connection. Try again in a few minutes.")
        return render_template("dashboard/password.html", form=form, me=me, error=error), 429
    with database().write() as session:
        account = _change(session, me, form)
    if account is None:
        if form.current.errors:
            throttle.record_failure(client, now)
        return render_template("dashboard/password.html", form=form, me=me), 400
    # This session goes on under the new version; every other one has ended.
    login_user(account)
    flash(_("Your password is changed. Your other sessions are closed."), "success")
    return redirect(url_for(".home"))


def _change(session: Session, me: Account, form: ChangePasswordForm) -> Account | None:
    """Check and store the new password; None, with errors on the form, when refused."""
    user = session.get(User, me.id, with_for_update=True)
    if user is None or not verify_password(user.password_hash, form.current.data):
        form.current.errors.append(_("This is not your current password."))
        return None
    if form.new.data == form.current.data:
        form.new.errors.append(_("Choose a password different from the current one."))
        return None
    try:
        set_password(user, form.new.data, must_change=False)
    except WeakPassword:
        form.new.errors.append(weak_password_message())
        return None
    audit.record(
        session,
        actor=me,
        action=audit.USER_UPDATE,
        target_type="user",
        target_id=user.id,
        detail={"new_password": True},
        ip=request.remote_addr,
    )
    session.flush()
    return Account.of(user)
