"""Error pages for the dashboard: in the worker's language, inside the layout."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError  # type: ignore[import-untyped, unused-ignore]
from werkzeug.exceptions import Forbidden, NotFound

from bot.dashboard.i18n import _


def register_error_pages(blueprint: Blueprint) -> None:
    """Render 400 (CSRF), 403 and 404 raised by `blueprint`'s views as pages."""
    blueprint.register_error_handler(CSRFError, _csrf_failed)
    blueprint.register_error_handler(Forbidden, _forbidden)
    blueprint.register_error_handler(NotFound, _not_found)


def _csrf_failed(_error: Exception) -> ResponseReturnValue:
    return _page(
        400,
        _("This form has expired"),
        _(
            "The form was sent without its security token, or the token is too old. "
            "Go back, reload the page and send the form again."
        ),
    )


def _forbidden(_error: Exception) -> ResponseReturnValue:
    return _page(
        403,
        _("Reserved for supervisors"),
        _("Your account cannot open this page. Ask a supervisor if you need it."),
    )


def _not_found(_error: Exception) -> ResponseReturnValue:
    return _page(404, _("Page not found"), _("This page does not exist, or no longer does."))


def _page(status: int, title: str, explanation: str) -> ResponseReturnValue:
    html = render_template("dashboard/error.html", title=title, explanation=explanation)
    return html, status
