"""Per-sender flood limiting: a burst of messages is stored, answered once, then quiet.

A person (or a phone stuck in a loop, or someone testing us) who sends more than `limit`
messages within `window` is in a flood. Every message is stored, as always; from the one
over the limit on, the flows no longer answer them:

- the first over the limit gets one polite answer (kind "flood"), which opens a *flood
  window*; the rest of that window gets nothing;
- when the window ends and the flood goes on, the next message over the limit opens a new
  window, with the same single answer;
- when `case_after` windows follow each other (each within two windows of the previous),
  a case (reason "flood", normal priority) asks a person to look, and the flood messages
  from then on are attached to it.

The counts come from the database (inbound messages, and the "flood" answers already
queued), so the web process and the worker agree without any shared memory, and a
restart forgets nothing.

Three kinds of messages pass through during a flood: STOP (opting out is honoured on
every message), anything from someone opted out (the keyword hook stores it silently),
and messages to a case a worker holds (the worker reads them all, nothing is answered
automatically anyway). The safety scan runs before this hook: danger is always answered.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import keyword_texts as texts
from bot import outbox
from bot.conversation import ConversationService, held_case
from bot.effects import request_case
from bot.engine.text import for_language
from bot.keywords import Command, match_command
from storage.models import (
    Case,
    CaseStatus,
    Contact,
    ContactAddress,
    Direction,
    Message,
    Priority,
)

__all__ = ["FLOOD_KIND", "FLOOD_REASON", "FloodHook"]

FLOOD_KIND = "flood"
FLOOD_REASON = "flood"


@dataclass
class FloodHook:
    """An InboundHook: more than `limit` messages in `window` are stored but not answered."""

    service: ConversationService
    # A quick person answering first-contact menus sends a dozen messages a minute:
    # only well beyond that is it a flood (a stuck phone, a script, a panic).
    limit: int = 20
    window: timedelta = timedelta(seconds=60)
    case_after: int = 3

    def __post_init__(self) -> None:
        if self.limit < 1 or self.case_after < 1 or self.window <= timedelta(0):
            raise ValueError("limit and case_after must be at least 1, window positive")

    def __call__(
        self, session: Session, contact: Contact, address: ContactAddress, message: Message
    ) -> bool:
        if contact.opted_out_at is not None:
            return False
        now = message.created_at
        if not self._over_limit(session, contact, message):
            return False
        if message.kind == "text" and match_command(message.text or "") is Command.STOP:
            return False
        if held_case(session, contact.id) is not None:
            return False
        notes = self._notes_since(session, contact, now - self.window)
        if notes == 0:
            self._answer(session, contact, address, now)
            if self._consecutive(session, contact):
                request_case(
                    session,
                    contact,
                    now,
                    queue="general",
                    priority=Priority.NORMAL,
                    reason=FLOOD_REASON,
                    summary=(
                        f"More than {self.limit} messages within {_seconds(self.window)} s, "
                        f"{self.case_after} times in a row."
                    ),
                )
        case = self._open_flood_case(session, contact)
        if case is not None and message.case_id is None:
            message.case_id = case.id
        return True

    def _over_limit(self, session: Session, contact: Contact, message: Message) -> bool:
        # The newest limit+1 inbound messages up to this one: a flood when the oldest of
        # them is still inside the window. Reads at most limit+1 rows through the index.
        times = list(
            session.scalars(
                select(Message.created_at)
                .where(
                    Message.contact_id == contact.id,
                    Message.direction == Direction.IN,
                    Message.id <= message.id,
                )
                .order_by(Message.id.desc())
                .limit(self.limit + 1)
            )
        )
        return len(times) > self.limit and times[-1] > message.created_at - self.window

    def _notes_since(self, session: Session, contact: Contact, since: datetime) -> int:
        return (
            session.scalar(
                select(func.count(Message.id)).where(
                    Message.contact_id == contact.id,
                    Message.direction == Direction.OUT,
                    Message.kind == FLOOD_KIND,
                    Message.created_at > since,
                )
            )
            or 0
        )

    def _consecutive(self, session: Session, contact: Contact) -> bool:
        """True when the last `case_after` flood answers each came within 2 windows."""
        times = list(
            session.scalars(
                select(Message.created_at)
                .where(
                    Message.contact_id == contact.id,
                    Message.direction == Direction.OUT,
                    Message.kind == FLOOD_KIND,
                )
                .order_by(Message.id.desc())
                .limit(self.case_after)
            )
        )
        if len(times) < self.case_after:
            return False
        return all(newer - older <= 2 * self.window for newer, older in itertools.pairwise(times))

    def _answer(
        self, session: Session, contact: Contact, address: ContactAddress, now: datetime
    ) -> None:
        language = self.service.language_of(contact)
        translated = self.service.runtime.catalogs.translator(language).gettext(texts.FLOODED)
        outbox.enqueue(session, address, for_language(translated, language), now, kind=FLOOD_KIND)
        session.flush()

    def _open_flood_case(self, session: Session, contact: Contact) -> Case | None:
        return session.scalar(
            select(Case)
            .where(
                Case.contact_id == contact.id,
                Case.reason == FLOOD_REASON,
                Case.status != CaseStatus.CLOSED,
            )
            .limit(1)
        )


def _seconds(window: timedelta) -> int:
    return int(window.total_seconds())
