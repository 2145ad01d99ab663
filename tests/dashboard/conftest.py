"""The dashboard tests run on the shared `app` fixture, with CSRF checks on.

Fixtures from tests.browser are imported here, once, for every test of this folder.
"""

from __future__ import annotations

import pytest
from flask import Flask

from tests.browser import browser, live_server, page, supervisor, worker

__all__ = ["browser", "live_server", "page", "supervisor", "worker"]


@pytest.fixture
def app(app: Flask) -> Flask:
    """The test app with CSRF checks on (they are what is tested)."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app
