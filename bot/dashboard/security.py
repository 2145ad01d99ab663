"""What every dashboard blueprint gets: CSRF checks, a login wall and protective headers.

CSRF is checked per blueprint, not app-wide: provider webhooks post without a token and
must keep working whatever their blueprint is called and whenever it is registered.
A blueprint for workers opts in with `secure_blueprint` (the simulator does too).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user  # type: ignore[import-untyped, unused-ignore]
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped, unused-ignore]

from bot.dashboard.access import login_manager

csrf = CSRFProtect()

# Pages show personal data: never cached, never framed, no third-party anything.
# Referrer-Policy keeps same-origin referrers: Flask-WTF checks them on HTTPS posts.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def secure_blueprint(blueprint: Blueprint, *, login: bool = True) -> None:
    """Check CSRF tokens on every unsafe request, require a login unless `login` is false."""

    def check() -> ResponseReturnValue | None:
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        if login and not _is_static() and not current_user.is_authenticated:
            response: ResponseReturnValue = login_manager.unauthorized()
            return response
        return None

    def add_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    blueprint.before_request(check)
    blueprint.after_request(add_headers)


def _is_static() -> bool:
    # The stylesheet is needed on the login page, before anyone is signed in.
    return bool(request.endpoint and request.endpoint.endswith(".static"))
