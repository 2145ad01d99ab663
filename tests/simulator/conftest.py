"""The simulator tests run with CSRF checks on, and may drive a real browser."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.browser import browser, live_server, page, supervisor, worker

__all__ = ["browser", "live_server", "page", "supervisor", "worker"]


@pytest.fixture
def app(app: Flask) -> Flask:
    """The test app with CSRF checks on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app
