"""Where the shipped flows and translations live, installed or in a source tree."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    # In a source tree (or an editable install) the folders sit beside `bot/`; a wheel
    # carries them inside the package (see pyproject's force-include).
    source = _PACKAGE.parent / name
    return source if source.is_dir() else _PACKAGE / "_shipped" / name


def flows_dir() -> Path:
    """The folder of flow files (`flows/*.yaml`)."""
    return _shipped("flows")


def locales_dir() -> Path:
    """The folder of gettext catalogs (`locales/<lang>/LC_MESSAGES/<domain>.po`)."""
    return _shipped("locales")
