"""The dashboard's forms; Flask-WTF adds and checks their CSRF token."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm  # type: ignore[import-untyped, unused-ignore]
from wtforms import (  # type: ignore[import-untyped, unused-ignore]
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import (  # type: ignore[import-untyped, unused-ignore]
    DataRequired,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from bot import audit
from bot.accounts import MIN_PASSWORD_LENGTH
from bot.dashboard.i18n import _l
from storage.models import Role

# As loose as bot.accounts: the real check is that the worker can log in.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_PASSWORD_LENGTH = 256


def role_choices() -> list[tuple[str, Any]]:
    """The roles as (value, translated label) pairs."""
    return [(Role.WORKER.value, _l("Worker")), (Role.SUPERVISOR.value, _l("Supervisor"))]


ACTION_LABELS: dict[str, Any] = {
    audit.LOGIN: _l("Logged in"),
    audit.LOGIN_FAILED: _l("Failed login"),
    audit.LOGOUT: _l("Logged out"),
    audit.USER_CREATE: _l("Account created"),
    audit.USER_UPDATE: _l("Account changed"),
    audit.CONTACT_VIEW: _l("Contact file viewed"),
    audit.CASE_CLAIM: _l("Case claimed"),
    audit.CASE_RELEASE: _l("Case released"),
    audit.CASE_REASSIGN: _l("Case reassigned"),
    audit.CASE_REPLY: _l("Reply sent"),
    audit.CASE_NOTE: _l("Note added"),
    audit.CASE_CLOSE: _l("Case closed"),
    audit.CONTACT_EXPORT: _l("Contact data exported"),
    audit.CONTACT_ERASE: _l("Contact data erased"),
    audit.CHECKIN_ENROLMENT: _l("Check-in enrolment changed"),
}


def new_password_field(label: Any, required: Any, description: Any = None) -> Any:
    """A field for a password being chosen: its length is checked here, its strength
    by bot.accounts (which knows whose password it is)."""
    return PasswordField(
        label,
        description=description,
        validators=[
            DataRequired(message=required),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l(
                    "Use between %(min)d and %(max)d characters.",
                    min=MIN_PASSWORD_LENGTH,
                    max=MAX_PASSWORD_LENGTH,
                ),
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )


def weak_password_message() -> str:
    """What a person reads when bot.accounts finds their new password easy to guess."""
    return str(
        _l(
            "This password is too easy to guess. Avoid common passwords, repeats, sequences"
            " and names (yours included): a few unusual words in a row make a good one."
        )
    )


def action_choices() -> list[tuple[str, Any]]:
    """Every audit action, labelled, after an "all actions" choice."""
    return [("", _l("All actions"))] + [(a, ACTION_LABELS.get(a, a)) for a in audit.ACTIONS]


class LoginForm(FlaskForm):  # type: ignore[misc]
    """E-mail and password; `next` carries the page asked for before logging in."""

    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(message=_l("Enter your e-mail address.")), Length(max=254)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class NewAccountForm(FlaskForm):  # type: ignore[misc]
    """A supervisor creates an account with an initial password to hand over."""

    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter an e-mail address.")),
            Length(max=254, message=_l("This e-mail address is too long.")),
            Regexp(EMAIL_PATTERN, message=_l("This is not an e-mail address.")),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    display_name = StringField(
        _l("Name (optional)"),
        validators=[
            Optional(),
            Length(max=100, message=_l("Use at most %(max)d characters.", max=100)),
        ],
        render_kw={"autocomplete": "off"},
    )
    role = SelectField(_l("Role"), choices=role_choices, default=Role.WORKER.value)
    password = new_password_field(
        _l("Initial password"),
        _l("Enter an initial password."),
        _l(
            "At least %(min)d characters, hard to guess. Give it to the person by another"
            " channel than their e-mail: they will choose their own at their first login.",
            min=MIN_PASSWORD_LENGTH,
        ),
    )


class RoleForm(FlaskForm):  # type: ignore[misc]
    """Change one account's role (one form per row, told apart by their prefix)."""

    role = SelectField(_l("Role"), choices=role_choices)


class ReactivateForm(FlaskForm):  # type: ignore[misc]
    """Reactivate an account with a new password, which also ends its old sessions."""

    password = new_password_field(
        _l("New password"), _l("Enter a new password to reactivate the account.")
    )


class ResetPasswordForm(FlaskForm):  # type: ignore[misc]
    """A supervisor gives an account a new password, to be changed at the next login."""

    password = new_password_field(
        _l("New password"), _l("Enter a new password to reset the account's password.")
    )


class ChangePasswordForm(FlaskForm):  # type: ignore[misc]
    """A worker replaces their own password: the current one, then the new one twice."""

    current = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your current password.")),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    new = new_password_field(
        _l("New password"),
        _l("Enter a new password."),
        _l(
            "At least %(min)d characters, hard to guess: a few unusual words in a row"
            " make a good one. Not your name, nor a common password.",
            min=MIN_PASSWORD_LENGTH,
        ),
    )
    confirm = PasswordField(
        _l("New password, again"),
        validators=[
            DataRequired(message=_l("Enter the new password a second time.")),
            EqualTo("new", message=_l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class AuditFilterForm(FlaskForm):  # type: ignore[misc]
    """Filters of the audit log, read from the query string (a GET form, no token)."""

    class Meta:
        csrf = False

    actor = StringField(
        _l("Who"),
        validators=[Optional(), Length(max=254)],
        description=_l("Part of an e-mail address, or cli, system, anonymous."),
    )
    action = SelectField(_l("Action"), choices=action_choices, default="")
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field: Any) -> None:
        """The range ends on or after it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date comes before the start date."))
