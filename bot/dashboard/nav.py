"""The navigation bar: which pages a worker sees, shown once their view exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for

from bot.dashboard.access import Account
from bot.dashboard.i18n import _l


@dataclass(frozen=True)
class NavItem:
    """A page in the navigation bar, and a line about it on the home page."""

    endpoint: str
    label: Any
    description: Any
    supervisors_only: bool = False


# In menu order. An item appears when its endpoint is registered, so a page built later
# (the simulator) joins the menu by taking the endpoint name given here. The queue is
# also the home page (/queue/), so it has no separate "Home" item.
NAV: tuple[NavItem, ...] = (
    NavItem(
        "dashboard.queue",
        _l("Queue"),
        _l("The cases waiting for a person, the most urgent first."),
    ),
    NavItem(
        "dashboard.checkins",
        _l("Check-ins"),
        _l("The weekly check-ins: who answered, who missed, who needs a call."),
    ),
    NavItem(
        "simulator.index",
        _l("Simulator"),
        _l("Talk to the flows as a person would, without a phone."),
    ),
    NavItem(
        "dashboard.accounts",
        _l("Accounts"),
        _l("Create accounts, change roles, reset passwords, deactivate or reactivate them."),
        supervisors_only=True,
    ),
    NavItem(
        "dashboard.audit_log",
        _l("Audit log"),
        _l("Who did what and when: logins, account changes, files viewed."),
        supervisors_only=True,
    ),
    NavItem(
        "dashboard.change_password",
        _l("My password"),
        _l("Change your own password."),
    ),
)


@dataclass(frozen=True)
class NavLink:
    """A navigation item resolved for the current request."""

    url: str
    label: Any
    description: Any
    current: bool


def nav_links(account: Account | None) -> list[NavLink]:
    """The items this account may open, with the current page marked.

    None while the password must change: no other page opens until then.
    """
    if account is None or account.must_change_password:
        return []
    return [
        NavLink(
            url=url_for(item.endpoint),
            label=item.label,
            description=item.description,
            current=request.endpoint == item.endpoint,
        )
        for item in NAV
        if item.endpoint in current_app.view_functions
        and (account.is_supervisor or not item.supervisors_only)
    ]
