"""The landing page after login: the queue, so the first thing a worker sees is who waits."""

from __future__ import annotations

from bot.dashboard.blueprint import blueprint
from bot.dashboard.queue import queue


@blueprint.get("/")
def home() -> str:
    """The queue, at the dashboard's root (accounts and audit stay in the menu)."""
    return queue()
