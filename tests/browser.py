"""Playwright fixtures for dashboard tests: a live server, Debian's chromium, two users.

Import the fixtures a folder uses in its conftest.py, explicitly (see
tests/dashboard/conftest.py), and the helpers in the tests::

    from tests.browser import browser, live_server, page, supervisor, worker
    __all__ = ["browser", "live_server", "page", "supervisor", "worker"]

`live_server` serves the test's `app` (same database) on a free 127.0.0.1 port;
`page` is a fresh browser context whose relative URLs go to it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from bot.accounts import create_user
from storage.db import Database
from storage.models import Role

# Playwright cannot download its own browser here; CI installs Debian's (.ci/browser).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Credentials:
    """A dashboard account made for a test, with its password in clear."""

    id: int
    email: str
    password: str
    name: str


@dataclass(frozen=True)
class LiveServer:
    """The test app answering on a real socket."""

    url: str


def make_account(
    database: Database, email: str, password: str, role: Role, name: str
) -> Credentials:
    """Create an active account, its password already the person's own, and return how
    to log in with it."""
    with database.write() as session:
        user = create_user(
            session,
            email,
            password,
            role,
            actor="test",
            display_name=name,
            must_change_password=False,
        )
        return Credentials(id=user.id, email=user.email, password=password, name=name)


@pytest.fixture
def worker(db: Database) -> Credentials:
    """Wassim, a social worker."""
    return make_account(
        db, "worker@relais.test", "worker password 2026", Role.WORKER, "Wassim Worker"
    )


@pytest.fixture
def supervisor(db: Database) -> Credentials:
    """Salomé, a supervisor."""
    return make_account(
        db, "supervisor@relais.test", "supervisor password 2026", Role.SUPERVISOR, "Salomé Sup"
    )


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The test's app served by werkzeug in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)


@dataclass
class _Shared:
    """One chromium for the whole run, however many folders import the `browser` fixture.

    Each conftest.py that imports the fixture gets its own session-scoped copy, and
    Playwright's sync API cannot be started twice in one process: the copies share this.
    """

    playwright: Playwright | None = None
    browser: Browser | None = None
    users: int = 0


_shared = _Shared()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright, for the whole session."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "chromium is not installed: the dashboard's browser tests need Debian's "
            "chromium (run `bash .ci/browser`)",
            pytrace=False,
        )
    if _shared.browser is None:
        _shared.playwright = sync_playwright().start()
        _shared.browser = _shared.playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS
        )
    _shared.users += 1
    yield _shared.browser
    _shared.users -= 1
    if _shared.users == 0:
        _shared.browser.close()
        assert _shared.playwright is not None
        _shared.playwright.stop()
        _shared.browser = _shared.playwright = None


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A tab in a fresh context (no cookies), with relative URLs on the live server."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def login(page: Page, email: str, password: str) -> None:
    """Log in through the form and wait for the page that follows."""
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
