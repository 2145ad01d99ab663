"""The forms of the queue and the case page; Flask-WTF adds and checks their CSRF token."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm  # type: ignore[import-untyped, unused-ignore]
from wtforms import (  # type: ignore[import-untyped, unused-ignore]
    DateField,
    SelectField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[import-untyped, unused-ignore]
from wtforms.validators import (  # type: ignore[import-untyped, unused-ignore]
    DataRequired,
    Length,
    Optional,
    ValidationError,
)

from bot import cases
from bot.dashboard.i18n import _l
from bot.dashboard.labels import OUTCOMES, REASONS


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that changes a case (claim, release): nothing but the token."""


class ReplyForm(FlaskForm):  # type: ignore[misc]
    """The worker's message to the person."""

    text = TextAreaField(
        _l("Your reply"),
        validators=[
            DataRequired(message=_l("Write a reply before sending it.")),
            Length(
                max=cases.MAX_REPLY_LENGTH,
                message=_l("Use at most %(max)d characters.", max=cases.MAX_REPLY_LENGTH),
            ),
        ],
        render_kw={"rows": 4, "maxlength": cases.MAX_REPLY_LENGTH},
    )


class NoteForm(FlaskForm):  # type: ignore[misc]
    """A private note, never sent to the person."""

    body = TextAreaField(
        _l("Private note"),
        description=_l("Seen by the team only, never sent to the person."),
        validators=[
            DataRequired(message=_l("Write the note before saving it.")),
            Length(
                max=cases.MAX_NOTE_LENGTH,
                message=_l("Use at most %(max)d characters.", max=cases.MAX_NOTE_LENGTH),
            ),
        ],
        render_kw={"rows": 3, "maxlength": cases.MAX_NOTE_LENGTH},
    )


def outcome_choices() -> list[Any]:
    """The closing outcomes, labelled, after a prompt to choose one."""
    return [SelectChoice("", _l("Choose an outcome"))] + [
        SelectChoice(code, OUTCOMES[code]) for code in cases.OUTCOMES
    ]


class CloseForm(FlaskForm):  # type: ignore[misc]
    """Close the case with an outcome and, if needed, a date to follow up."""

    outcome = SelectField(
        _l("Outcome"),
        choices=outcome_choices,
    )
    follow_up_on = DateField(
        _l("Follow up on (optional)"),
        description=_l("A date to get back to the person."),
        validators=[Optional()],
    )

    def validate_outcome(self, field: Any) -> None:
        """An empty choice is the prompt, not an outcome."""
        if field.data not in cases.OUTCOMES:
            raise ValidationError(_l("Choose an outcome."))


class ReassignForm(FlaskForm):  # type: ignore[misc]
    """A supervisor gives the case to another worker."""

    assignee = SelectField(_l("Give the case to"), coerce=int, choices=[])


def reason_choices(present: list[str]) -> list[Any]:
    """Reasons to filter by: the known ones and any other found in the queue."""
    codes = list(REASONS) + sorted(set(present) - set(REASONS))
    return [SelectChoice("", _l("All reasons"))] + [
        SelectChoice(code, REASONS.get(code, code)) for code in codes
    ]


def language_choices(codes: tuple[str, ...], name: Any) -> list[Any]:
    """Languages to filter by, each named by `name(code)`."""
    return [SelectChoice("", _l("All languages"))] + [
        SelectChoice(code, name(code)) for code in codes
    ]


class QueueFilterForm(FlaskForm):  # type: ignore[misc]
    """Filters of the queue, read from the query string (a GET form, no token)."""

    class Meta:
        csrf = False

    show = SelectField(
        _l("Show"),
        choices=[
            SelectChoice("all", _l("All open cases")),
            SelectChoice("mine", _l("Mine")),
            SelectChoice("unassigned", _l("Unassigned")),
        ],
        default="all",
    )
    # Choices are set by the view: reasons found in the queue, shipped languages.
    reason = SelectField(_l("Reason"), choices=[], default="")
    language = SelectField(_l("Language"), choices=[], default="")
