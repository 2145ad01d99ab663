"""The `dashboard` blueprint: the worker pages under /queue, their templates and assets."""

from __future__ import annotations

from flask import Blueprint

from bot.dashboard.errors import register_error_pages
from bot.dashboard.security import secure_blueprint

blueprint = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/queue",
    template_folder="templates",
    static_folder="static",
)
secure_blueprint(blueprint)
register_error_pages(blueprint)
