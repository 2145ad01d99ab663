"""The dashboard's cookie session, not opened for the machines' endpoints.

Twilio, Telegram and health probes send no session cookie and must never receive one;
opening and saving a signed session for each of their requests costs time the webhooks
do not have to spare under a rush. Their requests get Flask's null session instead.
"""

from __future__ import annotations

from flask import Flask, Request, has_request_context, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

# The URL prefixes only machines call (see bot/channels and bot/health.py).
MACHINE_PATHS = ("/webhooks/", "/healthz")


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions for people; none for machine endpoints."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(MACHINE_PATHS):
            return None  # Flask then uses a null session, never saved
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        # Secure whenever the request came over HTTPS, as the server or a trusted proxy
        # says, not only when PUBLIC_URL starts with https.
        return bool(super().get_cookie_secure(app)) or (has_request_context() and request.is_secure)
