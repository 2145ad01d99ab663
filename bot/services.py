"""Building the conversation service with everything that listens to it."""

from __future__ import annotations

from bot import checkins, privacy
from bot.config import Settings
from bot.conversation import ConversationService
from bot.flood import FloodHook
from bot.keywords import KeywordHook
from bot.reception import Reception
from bot.runtime import FlowRuntime, shipped_runtime
from bot.safety import SafetyHook, SafetyWaitHook
from storage.db import Database


def conversation_service(
    database: Database,
    settings: Settings,
    runtime: FlowRuntime | None = None,
    *,
    reception: Reception | None = None,
) -> ConversationService:
    """The one way to build the service, so web, worker and CLI behave alike."""
    service = ConversationService(
        database,
        runtime or shipped_runtime(),
        settings,
        run_end_hooks=[checkins.on_run_ended, privacy.forget_without_consent],
        reception=reception,
    )
    # In this order, before the flows see anything. Danger first, whatever state the
    # person is in (a held case, opted out, a flood); then a flood is answered once; then
    # a global command (STOP, AIDE, LANGUE…) wins over whatever question is waiting.
    safety = SafetyHook(service.runtime, settings)
    service.hooks += [
        safety,
        FloodHook(service),
        KeywordHook(service),
        # After the commands, so STOP still works while a danger case waits.
        SafetyWaitHook(safety),
    ]
    return service
