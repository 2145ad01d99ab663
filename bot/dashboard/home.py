"""The landing page after login: who is signed in and what they can open."""

from __future__ import annotations

from flask import render_template

from bot.dashboard.access import signed_in
from bot.dashboard.blueprint import blueprint
from bot.dashboard.nav import nav_links


@blueprint.get("/")
def home() -> str:
    """The signed-in worker, and a line about each page they may open."""
    account = signed_in()
    links = [link for link in nav_links(account) if not link.current]
    return render_template("dashboard/home.html", account=account, links=links)
