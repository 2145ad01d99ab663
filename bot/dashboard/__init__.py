"""The workers' dashboard: login, accounts, audit log, and the layout the queue sits on.

How to add a page:

1. Write the view in a module of this package on the `dashboard` blueprint, and add
   that module to the imports at the top of this file (beside accounts, audit_log and
   home), so its routes exist before the blueprint is registered::

       from bot.dashboard.blueprint import blueprint

       @blueprint.get("/cases")
       def queue() -> str:
           return render_template("dashboard/queue.html", ...)

   Every view of the blueprint already requires a login and checks CSRF tokens on
   POST; add `@supervisor_required` (bot.dashboard.access) for supervisor pages, and
   `signed_in()` gives the worker. Write audit entries with `bot.audit.record`.
2. The template extends the layout and fills its blocks::

       {% extends "dashboard/base.html" %}
       {% block title %}{{ _("Queue") }}{% endblock %}
       {% block content %}<h1>{{ _("Queue") }}</h1> …{% endblock %}

   (`head` adds to <head>). Every text goes through `_()`; in Python import `_`, `_l`
   and `ngettext` from bot.dashboard.i18n. Then extract and translate (see
   babel-dashboard.cfg); a test fails while a text lacks its French or English.
3. To appear in the navigation bar, use an endpoint listed in `nav.NAV` or add one.

A blueprint outside this package (the simulator) calls `secure_blueprint(blueprint)`
from bot.dashboard.security and extends the same layout.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask_babel import Babel, get_locale  # type: ignore[import-untyped, unused-ignore]
from flask_login import current_user  # type: ignore[import-untyped, unused-ignore]

from bot.dashboard import (
    accounts,
    audit_log,
    auth,
    cases,
    contacts,
    home,
    password,
    privacy,
    queue,
)
from bot.dashboard import checkins as _checkins  # noqa: F401 - routes and checkins_card()
from bot.dashboard import simulator as _simulator  # noqa: F401 - /simulator
from bot.dashboard.access import Account, login_manager, login_required, supervisor_required
from bot.dashboard.blueprint import blueprint
from bot.dashboard.i18n import LANGUAGES, check_dashboard_catalogs, domain, select_language
from bot.dashboard.nav import nav_links
from bot.dashboard.security import csrf, secure_blueprint
from bot.dashboard.sessions import DashboardSessionInterface
from bot.dashboard.throttle import EXTENSION_KEY as THROTTLE_KEY
from bot.dashboard.throttle import IpThrottle
from bot.extensions import relais
from bot.i18n import language_name

# The view modules register their routes on the blueprints when imported.
_VIEWS = (accounts, audit_log, cases, contacts, home, password, privacy, queue)

__all__ = [
    "Account",
    "check_dashboard_catalogs",
    "csrf",
    "init_dashboard",
    "login_required",
    "secure_blueprint",
    "supervisor_required",
]

# A signed-in session ends after this long without a request.
SESSION_LIFETIME = timedelta(hours=12)


def init_dashboard(app: Flask) -> None:
    """Bind Flask-Login, CSRF, Flask-Babel and the dashboard blueprints to `app`.

    Webhooks stay free of CSRF checks whatever the order of registration: tokens are
    checked only on the blueprints that call `secure_blueprint`.
    """
    if "dashboard" in app.blueprints:
        raise RuntimeError("init_dashboard() was already called for this app")
    secure_cookie = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.update(
        # Checked per blueprint (see bot.dashboard.security), never app-wide.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A token lasts as long as the session: a form left open over lunch still works.
        WTF_CSRF_TIME_LIMIT=None,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        # Remember-me is never offered; should a cookie appear, it is as guarded as the
        # session's.
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure_cookie,
        REMEMBER_COOKIE_DURATION=SESSION_LIFETIME,
    )
    app.config.setdefault("WTF_CSRF_ENABLED", True)
    app.config.setdefault("DASHBOARD_LANDING_ENDPOINT", "dashboard.home")
    app.config.setdefault("DASHBOARD_LOGIN_IP_FAILURES", 20)
    app.config.setdefault("DASHBOARD_LOGIN_IP_WINDOW", timedelta(minutes=15))
    app.extensions[THROTTLE_KEY] = IpThrottle(
        app.config["DASHBOARD_LOGIN_IP_FAILURES"], app.config["DASHBOARD_LOGIN_IP_WINDOW"]
    )

    app.session_interface = DashboardSessionInterface()
    csrf.init_app(app)
    login_manager.init_app(app)
    babel = Babel()
    babel.init_app(
        app,
        default_locale=LANGUAGES[0],
        default_timezone=relais(app).settings.timezone,
        locale_selector=select_language,
    )
    # Templates' _() and Flask-Babel's gettext use the dashboard catalog read from .po.
    babel.domain_instance = domain

    app.register_blueprint(auth.blueprint)
    app.register_blueprint(blueprint)
    app.context_processor(_layout_context)


def _layout_context() -> dict[str, Any]:
    """What the layout needs on every page, including pages of other blueprints."""
    user = current_user._get_current_object()
    return {
        "nav_links": nav_links(user if isinstance(user, Account) else None),
        "current_language": str(get_locale() or LANGUAGES[0]),
        "languages": [(code, language_name(code)) for code in LANGUAGES],
    }
