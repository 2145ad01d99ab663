"""The dashboard in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

from playwright.sync_api import Page

from bot.accounts import create_user
from storage.db import Database
from storage.models import Role
from tests.browser import Credentials, login, make_account


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


def test_a_new_worker_chooses_their_password_at_the_first_login(page: Page, db: Database) -> None:
    with db.write() as session:
        create_user(
            session, "nadia@relais.test", "her first password here", Role.WORKER, actor="test"
        )
    login(page, "nadia@relais.test", "her first password here")
    assert page.url.endswith("/queue/password")
    assert page.get_by_text("Votre mot de passe a été choisi par quelqu’un d’autre.").is_visible()
    page.get_by_label("Mot de passe actuel").fill("her first password here")
    page.get_by_label("Nouveau mot de passe", exact=True).fill("password1234")
    page.get_by_label("Nouveau mot de passe, une seconde fois").fill("password1234")
    with page.expect_navigation():
        page.get_by_role("button", name="Changer mon mot de passe").click()
    assert page.get_by_text("Ce mot de passe est trop facile à deviner.").is_visible()
    page.get_by_label("Mot de passe actuel").fill("her first password here")
    page.get_by_label("Nouveau mot de passe", exact=True).fill("lentils on a tuesday evening")
    page.get_by_label("Nouveau mot de passe, une seconde fois").fill("lentils on a tuesday evening")
    with page.expect_navigation():
        page.get_by_role("button", name="Changer mon mot de passe").click()
    assert page.url.endswith("/queue/")
    assert page.get_by_text("Votre mot de passe est changé.").is_visible()
    assert page.get_by_role("link", name="Mon mot de passe").is_visible()


def test_the_accounts_page_fits_a_phone(page: Page, supervisor: Credentials, db: Database) -> None:
    """On a phone the table scrolls in its box; the page does not scroll sideways (the
    visually hidden labels inside the table once widened it to 676 px)."""
    for number in range(3):
        make_account(db, f"w{number}@relais.test", "a long enough phrase 2026", Role.WORKER, "W")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, supervisor.email, supervisor.password)
    page.goto("/queue/accounts")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
