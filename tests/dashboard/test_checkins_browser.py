"""Acceptance: the contact card shows the chart of a person's weekly answers (chromium)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from storage.db import Database
from tests.browser import Credentials, login
from tests.dashboard.checkins_data import WEEKS, enrolled_with_answers


def test_the_contact_card_shows_the_chart_of_a_few_weeks_of_answers(
    page: Page, db: Database, worker: Credentials, tmp_path: Path
) -> None:
    enrolled = enrolled_with_answers(db)
    login(page, worker.email, worker.password)
    page.goto(f"/queue/contacts/{enrolled.contact_id}")

    chart = page.locator("section.checkins-card svg.chart")
    chart.scroll_into_view_if_needed()
    assert chart.is_visible()
    assert chart.get_attribute("role") == "img"
    assert page.locator(f"#checkins-chart-{enrolled.contact_id}-title").text_content() == (
        "Réponses aux nouvelles hebdomadaires"
    )
    answered = sum(1 for _week, status, _answers in WEEKS if status == "answered")
    assert chart.locator(".marker.answered").count() == answered
    assert chart.locator(".marker.missed").count() == 1
    assert chart.locator(".marker.ucla").count() == 1
    # The chart is drawn at a readable size, not collapsed by the layout.
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100

    shot = tmp_path / "contact-card-chart.png"
    chart.screenshot(path=str(shot))
    assert shot.stat().st_size > 1000
