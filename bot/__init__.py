"""Relais: conversational intake and weekly check-ins for social-support associations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("relais")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
