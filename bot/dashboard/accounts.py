"""Supervisors manage accounts: create, change the role, reset the password, end the
sessions, deactivate and reactivate. Every change is audited as `user.update`."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import audit
from bot.accounts import AccountError, WeakPassword, create_user, end_sessions, set_password
from bot.dashboard.access import signed_in, supervisor_required
from bot.dashboard.blueprint import blueprint
from bot.dashboard.forms import (
    NewAccountForm,
    ReactivateForm,
    ResetPasswordForm,
    RoleForm,
    weak_password_message,
)
from bot.dashboard.i18n import _
from bot.extensions import database
from storage.models import LoginFailure, Role, User


@blueprint.route("/accounts", methods=["GET", "POST"])
@supervisor_required
def accounts() -> ResponseReturnValue:
    """The list of accounts, and the form that creates one."""
    form = NewAccountForm()
    if form.validate_on_submit():
        email = _create(form)
        if email is not None:
            flash(_("Account created for %(email)s.", email=email), "success")
            return redirect(url_for(".accounts"))
    with database().read() as session:
        users = list(session.scalars(select(User).order_by(User.email)))
    role_forms = {
        user.id: RoleForm(formdata=None, prefix=_prefix(user.id), data={"role": user.role})
        for user in users
    }
    reactivate_forms = {
        user.id: ReactivateForm(formdata=None, prefix=_prefix(user.id))
        for user in users
        if not user.active
    }
    reset_forms = {
        user.id: ResetPasswordForm(formdata=None, prefix=_reset_prefix(user.id))
        for user in users
        if user.active
    }
    status = 400 if form.errors else 200
    html = render_template(
        "dashboard/accounts.html",
        form=form,
        users=users,
        role_forms=role_forms,
        reactivate_forms=reactivate_forms,
        reset_forms=reset_forms,
        me=signed_in(),
    )
    return html, status


def _create(form: NewAccountForm) -> str | None:
    """Create the account; on a duplicate, put the error on the form and return None."""
    actor = signed_in()
    try:
        with database().write() as session:
            if _email_taken(session, form.email.data):
                form.email.errors.append(_("An account already uses this e-mail address."))
                return None
            user = create_user(
                session,
                form.email.data,
                form.password.data,
                Role(form.role.data),
                actor=actor,
                display_name=(form.display_name.data or "").strip() or None,
                must_change_password=True,
            )
            return user.email
    except WeakPassword:
        form.password.errors.append(weak_password_message())
        return None
    except (AccountError, IntegrityError):
        # Another supervisor created the same address a moment ago, or the e-mail is
        # one the form let through but the account rules refuse.
        form.email.errors.append(_("This e-mail address cannot be used for an account."))
        return None


def _email_taken(session: Session, email: str) -> bool:
    normalised = email.strip().lower()
    count = session.scalar(select(func.count()).select_from(User).where(User.email == normalised))
    return bool(count)


@blueprint.post("/accounts/<int:user_id>/role")
@supervisor_required
def change_role(user_id: int) -> ResponseReturnValue:
    """Make an account a worker or a supervisor."""
    form = RoleForm(prefix=_prefix(user_id))
    if not form.validate():
        flash(_("Choose a role from the list."), "error")
    elif user_id == signed_in().id:
        flash(_("You cannot change your own role: ask another supervisor."), "error")
    else:
        email = _update(user_id, role=Role(form.role.data))
        flash(_("The role of %(email)s is saved.", email=email), "success")
    return redirect(url_for(".accounts"))


@blueprint.post("/accounts/<int:user_id>/deactivate")
@supervisor_required
def deactivate(user_id: int) -> ResponseReturnValue:
    """Close an account: its sessions end at their next request."""
    if user_id == signed_in().id:
        flash(_("You cannot deactivate your own account: ask another supervisor."), "error")
    else:
        email = _update(user_id, active=False)
        flash(_("The account of %(email)s is deactivated.", email=email), "success")
    return redirect(url_for(".accounts"))


@blueprint.post("/accounts/<int:user_id>/reactivate")
@supervisor_required
def reactivate(user_id: int) -> ResponseReturnValue:
    """Open a deactivated account again with a new password and fresh login counters.

    The new password is required: whoever kept a session or the old password while the
    account was closed does not get back in with it. The person changes it at login.
    """
    form = ReactivateForm(prefix=_prefix(user_id))
    if not form.validate():
        for error in form.password.errors:
            flash(error, "error")
    else:
        try:
            email = _update(user_id, active=True, password=form.password.data)
        except WeakPassword:
            flash(weak_password_message(), "error")
        else:
            flash(_("The account of %(email)s is active again.", email=email), "success")
    return redirect(url_for(".accounts"))


@blueprint.post("/accounts/<int:user_id>/password")
@supervisor_required
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give an account a new password, to be changed at its next login; this ends its
    sessions and lifts its login locks (a locked-out worker asked for help)."""
    form = ResetPasswordForm(prefix=_reset_prefix(user_id))
    if user_id == signed_in().id:
        flash(_("Change your own password from the “My password” page."), "error")
    elif not form.validate():
        for error in form.password.errors:
            flash(error, "error")
    else:
        try:
            email = _update(user_id, password=form.password.data)
        except WeakPassword:
            flash(weak_password_message(), "error")
        else:
            flash(
                _(
                    "%(email)s has a new password, to be changed at their next login.",
                    email=email,
                ),
                "success",
            )
    return redirect(url_for(".accounts"))


@blueprint.post("/accounts/<int:user_id>/logout")
@supervisor_required
def end_all_sessions(user_id: int) -> ResponseReturnValue:
    """Log an account out everywhere (a lost phone, a computer left signed in)."""
    email = _update(user_id, log_out_everywhere=True)
    flash(_("%(email)s is logged out everywhere.", email=email), "success")
    # Their own account included: then this session ended too.
    return redirect(url_for("auth.login" if user_id == signed_in().id else ".accounts"))


def _update(
    user_id: int,
    *,
    role: Role | None = None,
    active: bool | None = None,
    password: str | None = None,
    log_out_everywhere: bool = False,
) -> str:
    """Apply a change to one account and audit it; 404 when there is no such account.

    Raises WeakPassword, changing nothing, when `password` is too easy to guess.
    """
    actor = signed_in()
    with database().write() as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            abort(404)
        detail: dict[str, audit.DetailValue] = {}
        if role is not None and user.role != role:
            user.role = role
            detail["role"] = role.value
        if active is not None and user.active != active:
            user.active = active
            detail["active"] = active
            end_sessions(user)
        if password is not None:
            # Someone else chose it: the person replaces it at their next login.
            set_password(user, password, must_change=True)
            detail["new_password"] = True
        if password is not None or active:
            # Locked out and given a new password: the locks on the old one go.
            session.execute(delete(LoginFailure).where(LoginFailure.user_id == user.id))
        if log_out_everywhere:
            end_sessions(user)
            detail["sessions_ended"] = True
        if detail:
            audit.record(
                session,
                actor=actor,
                action=audit.USER_UPDATE,
                target_type="user",
                target_id=user.id,
                detail=detail,
                ip=request.remote_addr,
            )
        return user.email


def _prefix(user_id: int) -> str:
    # One role form per row: the prefix keeps field names and ids unique on the page.
    return f"account-{user_id}"


def _reset_prefix(user_id: int) -> str:
    return f"reset-{user_id}"
