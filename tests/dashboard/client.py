"""Driving the dashboard's forms with Flask's test client, CSRF tokens included."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

_TOKEN = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the forms on `path`, as a browser would read it."""
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match is not None, f"no CSRF token on {path}"
    return match.group(1)


def post_form(
    client: FlaskClient, path: str, data: dict[str, Any], *, page: str | None = None
) -> TestResponse:
    """POST `data` to `path` with the token read from `page` (default: `path`)."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**data, "csrf_token": token})


def log_in(client: FlaskClient, email: str, password: str, **extra: str) -> TestResponse:
    """Submit the login form."""
    return post_form(client, "/login", {"email": email, "password": password, **extra})


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
