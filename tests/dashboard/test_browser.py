"""The dashboard in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser import Credentials, login


def test_a_supervisor_logs_in_in_chromium_and_sees_their_name(
    page: Page, supervisor: Credentials
) -> None:
    login(page, supervisor.email, supervisor.password)
    assert page.url.endswith("/queue/")
    assert page.locator("h1").inner_text() == "File d’attente"
    assert page.get_by_text("Connecté·e : Salomé Sup").is_visible()
    assert page.get_by_role("link", name="Journal d’audit").first.is_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/login")
    assert page.get_by_role("heading", name="Se connecter").is_visible()
