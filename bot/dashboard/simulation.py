"""A simulated person talking to the flows: the conversation service, the outbox, and time.

Everything goes the way a real message goes: `ConversationService` handles what the person
types and writes replies to the outbox; a `Dispatcher` with the `SimulatorAdapter` claims
those rows and "delivers" them, as the background worker would (it runs the same adapter).
Only the clock differs: the person lives `offset` ahead of real time, so "let time pass"
shows reminders and missed check-ins without waiting days.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot import clock
from bot.channels.simulator import SimulatorAdapter
from bot.conversation import ConversationService, active_conversation
from bot.dispatch import Dispatcher
from bot.reception import InboundMessage
from storage.db import Database
from storage.models import Channel, ContactAddress, Message, OutboxItem

DISPLAYS = ("sms", "whatsapp", "telegram")
ADDRESS_PREFIX = "web-"
# Each dispatcher pass sends the head of each person's queue: a flow that says five
# things in a row needs five passes. The bound only guards against a runaway flow.
MAX_PASSES = 50
# Timeouts applied one after another while time passes (a reminder, then "missed"…).
MAX_TIMEOUT_STEPS = 10


def new_address() -> str:
    """A fresh simulator address: a person the flows have never met."""
    return f"{ADDRESS_PREFIX}{secrets.token_hex(4)}"


@dataclass(frozen=True)
class SimulatorState:
    """What one worker's simulator remembers between requests (kept in their session)."""

    address: str
    language: str
    display: str = "sms"
    # How far the person's clock is ahead of real time, in seconds.
    offset: int = 0

    @classmethod
    def from_session(cls, data: Any, default_language: str) -> SimulatorState:
        """The state kept in the session, or a new person when there is none (or it is bad)."""
        if isinstance(data, dict):
            try:
                state = cls(
                    address=str(data["address"]),
                    language=str(data["language"]),
                    display=str(data.get("display", "sms")),
                    offset=int(data.get("offset", 0)),
                )
            except (KeyError, TypeError, ValueError):
                pass
            else:
                if state.display in DISPLAYS and state.offset >= 0:
                    return state
        return cls(address=new_address(), language=default_language)

    def to_session(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "language": self.language,
            "display": self.display,
            "offset": self.offset,
        }

    def now(self) -> datetime:
        """The time as the simulated person lives it."""
        return clock.now() + timedelta(seconds=self.offset)


class Simulation:
    """The simulated person's actions, through the same service and outbox as real ones."""

    def __init__(self, service: ConversationService, state: SimulatorState) -> None:
        self.service = service
        self.database: Database = service.database
        self.state = state

    def contact_id(self) -> int | None:
        """The person behind the simulator address, once they exist."""
        with self.database.read() as session:
            return session.scalar(
                select(ContactAddress.contact_id).where(
                    ContactAddress.channel == Channel.SIMULATOR,
                    ContactAddress.address == self.state.address,
                )
            )

    def say(self, text: str) -> None:
        """The person sends `text`; the phone's language is a hint, as Telegram's is."""
        now = self.state.now()
        self.service.handle(
            InboundMessage(
                channel=Channel.SIMULATOR,
                address=self.state.address,
                text=text,
                received_at=now,
                language_hint=self.state.language,
            )
        )
        self.deliver(now)

    def start(self, flow: str) -> None:
        """Start `flow` for the person now, as the scheduler or a worker would."""
        now = self.state.now()
        # A new person gets the simulator's language; someone who already chose one keeps it.
        language = self.state.language if self.contact_id() is None else None
        self.service.start(Channel.SIMULATOR, self.state.address, flow, now, language=language)
        self.deliver(now)

    def let_time_pass(self, duration: timedelta) -> SimulatorState:
        """Move the person's clock forward, applying each timeout when it comes due.

        A punctual worker would send the 24-hour reminder at 24 hours and record the
        check-in missed at 72: jumping straight to the end would skip the reminder.
        """
        target = self.state.now() + duration
        contact_id = self.contact_id()
        for _step in range(MAX_TIMEOUT_STEPS if contact_id is not None else 0):
            assert contact_id is not None
            due = self._wait_until(contact_id)
            if due is None or due > target:
                break
            moment = max(due, self.state.now())
            self.service.expire_wait(contact_id, moment)
            self.deliver(moment)
        offset = max(self.state.offset, round((target - clock.now()).total_seconds()))
        self.state = replace(self.state, offset=offset)
        return self.state

    def deliver(self, now: datetime) -> None:
        """Run the dispatcher over the simulator's outbox rows until the person's are sent."""
        dispatcher = Dispatcher(
            self.database,
            [SimulatorAdapter()],
            worker_id=f"simulator-web:{os.getpid()}",
            concurrency=1,
        )
        try:
            for _pass in range(MAX_PASSES):
                if dispatcher.run_once(now) == 0 or not self._queued(now):
                    break
        finally:
            dispatcher.close()

    def _queued(self, now: datetime) -> bool:
        with self.database.read() as session:
            count = session.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .join(Message, Message.id == OutboxItem.message_id)
                .join(ContactAddress, ContactAddress.id == Message.address_id)
                .where(
                    ContactAddress.channel == Channel.SIMULATOR,
                    ContactAddress.address == self.state.address,
                    OutboxItem.due_at <= now,
                )
            )
        return bool(count)

    def _wait_until(self, contact_id: int) -> datetime | None:
        with self.database.read() as session:
            conversation = active_conversation(session, contact_id)
            return conversation.wait_until if conversation is not None else None
