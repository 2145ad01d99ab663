"""The flows and translations a process runs with, loaded and validated once."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bot import paths
from bot.engine.flow import FlowLibrary, load_library
from bot.engine.runner import Runner
from bot.i18n import Catalogs


@dataclass(frozen=True)
class FlowRuntime:
    """A flow library, its catalogs, and the runner over both."""

    library: FlowLibrary
    catalogs: Catalogs
    runner: Runner

    @classmethod
    def load(cls, flows_dir: Path | None = None, locales_dir: Path | None = None) -> FlowRuntime:
        """Load every flow and the `flows` catalogs; raise FlowError on a broken flow."""
        library = load_library(flows_dir or paths.flows_dir())
        catalogs = Catalogs.load(locales_dir or paths.locales_dir())
        return cls(library=library, catalogs=catalogs, runner=Runner(library, catalogs))


_shipped: FlowRuntime | None = None
_lock = threading.Lock()


def shipped_runtime() -> FlowRuntime:
    """The shipped flows, loaded on first use and shared by every thread of the process."""
    global _shipped
    with _lock:
        if _shipped is None:
            _shipped = FlowRuntime.load()
        return _shipped
