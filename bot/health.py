"""`GET /healthz`: is this process up and does the database answer."""

from __future__ import annotations

import logging

import sqlalchemy.exc
from flask import Blueprint, Response, jsonify

from bot import __version__
from bot.extensions import database

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 with the database reachable, 503 otherwise; never leaks error details."""
    try:
        database().ping()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", exc.__class__.__name__)
        return jsonify(status="unavailable", database="unreachable", version=__version__), 503
    return jsonify(status="ok", database="ok", version=__version__), 200
