"""Building the conversation service with everything that listens to it."""

from __future__ import annotations

from bot import checkins
from bot.config import Settings
from bot.conversation import ConversationService
from bot.runtime import FlowRuntime, shipped_runtime
from storage.db import Database


def conversation_service(
    database: Database, settings: Settings, runtime: FlowRuntime | None = None
) -> ConversationService:
    """The one way to build the service, so web, worker and CLI behave alike."""
    return ConversationService(
        database,
        runtime or shipped_runtime(),
        settings,
        run_end_hooks=[checkins.on_run_ended],
    )
