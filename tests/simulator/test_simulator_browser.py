"""The simulator in chromium: an Arabic-speaking person, right to left, on Telegram."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser import Credentials, login


def test_an_arabic_speaker_sees_the_menu_right_to_left_and_taps_a_telegram_button(
    page: Page, worker: Credentials
) -> None:
    login(page, worker.email, worker.password)
    page.get_by_role("link", name="Simulateur").first.click()
    expect(page.get_by_role("heading", name="Simulateur", level=1)).to_be_visible()

    page.get_by_label("Langue du téléphone").select_option("ar")
    # Each action is a form post and a new page: wait for it, scripts included.
    with page.expect_navigation():
        page.get_by_role("button", name="Appliquer").click()
    # The display choice applies as soon as it is clicked (simulator.js).
    with page.expect_navigation():
        page.get_by_label("Telegram").check()
    expect(page.locator(".phone-telegram")).to_be_visible()

    page.get_by_label("Message", exact=True).fill("مرحبا")
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer").click()

    menu = page.locator(".bubble.from-relais .line").filter(has_text="اختر لغتك").first
    expect(menu).to_be_visible()
    assert menu.get_attribute("dir") == "auto"
    assert menu.evaluate("line => getComputedStyle(line).direction") == "rtl"
    assert menu.evaluate("line => line.matches(':dir(rtl)')")

    keyboard = page.get_by_role("form", name="Boutons Telegram")
    expect(keyboard.get_by_role("button")).to_have_count(7)
    with page.expect_navigation():
        keyboard.get_by_role("button", name=re.compile("English")).click()

    expect(page.locator(".bubble.from-person").last).to_contain_text("English")
    reply = page.locator(".bubble.from-relais .line").filter(has_text="this language").first
    expect(reply).to_be_visible()
    assert reply.evaluate("line => getComputedStyle(line).direction") == "ltr"
