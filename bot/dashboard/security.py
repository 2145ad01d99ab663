"""CSRF checks and a login wall for every dashboard blueprint; protective headers for
every response of the app.

CSRF is checked per blueprint, not app-wide: provider webhooks post without a token and
must keep working whatever their blueprint is called and whenever it is registered.
A blueprint for workers opts in with `secure_blueprint` (the simulator does too).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user  # type: ignore[import-untyped, unused-ignore]
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped, unused-ignore]

from bot.dashboard.access import login_manager

csrf = CSRFProtect()

# Where a person whose password someone else chose is sent until they choose their own.
CHANGE_PASSWORD_ENDPOINT = "dashboard.change_password"  # noqa: S105 - an endpoint name

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
    """Check CSRF tokens on every unsafe request, require a login unless `login` is false.

    Behind the login, a person whose password must change gets the page that changes it,
    whatever they asked for (logging out, in the `auth` blueprint, stays open).
    """

    def check() -> ResponseReturnValue | None:
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        if not login or _is_static():
            return None
        if not current_user.is_authenticated:
            response: ResponseReturnValue = login_manager.unauthorized()
            return response
        if current_user.must_change_password and request.endpoint != CHANGE_PASSWORD_ENDPOINT:
            return redirect(url_for(CHANGE_PASSWORD_ENDPOINT))
        return None

    blueprint.before_request(check)


# A year: browsers that saw Relais over HTTPS never try plain HTTP again.
HSTS = "max-age=31536000"


def protect_every_response(app: Flask) -> None:
    """Protective headers on every response (pages, errors, /healthz, webhooks); over
    HTTPS, HSTS and cookies marked Secure."""

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
            cookies = response.headers.getlist("Set-Cookie")
            if any("; secure" not in cookie.lower() for cookie in cookies):
                del response.headers["Set-Cookie"]
                for cookie in cookies:
                    secure = "; secure" in cookie.lower()
                    response.headers.add("Set-Cookie", cookie if secure else f"{cookie}; Secure")
        return response


def _is_static() -> bool:
    # The stylesheet is needed on the login page, before anyone is signed in.
    return bool(request.endpoint and request.endpoint.endswith(".static"))
