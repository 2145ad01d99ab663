"""The inbound service: one stored message in, one transaction, replies in the outbox.

Lock the person, let the hooks (safety, flood, global keywords) act first, run the
engine, store its events and the replies — then commit. Storing the message is
Reception's (bot/reception.py), before any of this. Nothing here talks to a provider;
the worker sends what was queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox, texts
from bot.config import Settings
from bot.effects import Applied, apply_events, attach_to_case
from bot.engine.context import ContactView
from bot.engine.events import Event, ResultSaved
from bot.engine.runner import Sprint, StateError
from bot.engine.text import for_language
from bot.i18n import negotiate
from bot.reception import Handled, InboundMessage, Reception
from bot.runtime import FlowRuntime
from storage.db import Database
from storage.models import (
    Case,
    CaseStatus,
    Channel,
    Contact,
    ContactAddress,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    RunStatus,
)

log = logging.getLogger(__name__)

FIRST_CONTACT_FLOW = "first_contact"
# Where someone who writes outside any flow goes: a short acknowledgement and a case,
# so no message falls into a void.
INBOX_FLOW = "inbox"
HELD_RECHECK = timedelta(hours=1)


class InboundHook(Protocol):
    """Acts on a message before the flows: returns True when it has fully handled it.

    Global keywords (STOP, AIDE, LANGUE…) and the safety scan plug in here.
    """

    def __call__(
        self, session: Session, contact: Contact, address: ContactAddress, message: Message
    ) -> bool: ...


class RunEndHook(Protocol):
    """Told when a run ends, with its outcome and everything it collected."""

    def __call__(
        self,
        session: Session,
        conversation: Conversation,
        outcome: str,
        results: dict[str, Any],
        now: datetime,
    ) -> None: ...


class ConversationService:
    """Turns inbound messages into state changes and queued replies."""

    def __init__(
        self,
        database: Database,
        runtime: FlowRuntime,
        settings: Settings,
        hooks: Sequence[InboundHook] = (),
        run_end_hooks: Sequence[RunEndHook] = (),
        reception: Reception | None = None,
    ) -> None:
        self.database = database
        self.reception = reception if reception is not None else Reception(database)
        self.runtime = runtime
        self.settings = settings
        self.hooks = list(hooks)
        self.run_end_hooks = list(run_end_hooks)

    def receive(self, inbound: InboundMessage) -> Handled:
        """Store the message, nothing more (see Reception.receive)."""
        return self.reception.receive(inbound)

    def handle(self, inbound: InboundMessage) -> Handled:
        """Store the message, then act on it at once (the simulator, `relais chat`, tests)."""
        received = self.receive(inbound)
        if received.message_id is None:
            return received
        return self.process(received.message_id)

    def process(self, message_id: int) -> Handled:
        """Act on a stored inbound message once: hooks, a held case, or the flows."""
        with self.database.write() as session:
            stored = session.get(Message, message_id)
            if stored is None:
                return Handled(contact_id=0, message_id=message_id)
            if stored.contact_id is None or stored.address_id is None:
                # The person was erased while this waited: nothing left to answer.
                stored.status = MessageStatus.HANDLED
                return Handled(contact_id=0, message_id=message_id)
            contact = self.lock_contact(session, stored.contact_id)
            # Read again under the lock: another process may have handled it meanwhile.
            message = session.get(Message, message_id, populate_existing=True)
            address = session.get(ContactAddress, stored.address_id)
            handled = Handled(contact_id=contact.id, message_id=message_id)
            if message is None or message.status != MessageStatus.RECEIVED:
                return handled
            if address is None or contact.erased_at is not None:
                message.status = MessageStatus.HANDLED
                return handled
            message.status = MessageStatus.HANDLED
            now = message.created_at
            address.last_inbound_at = now
            contact.last_seen_at = now
            for hook in self.hooks:
                if hook(session, contact, address, message):
                    return handled
            held = held_case(session, contact.id)
            if held is not None:
                # A worker is talking with the person: the flows stay quiet, the message
                # goes to the case, where the worker sees it arrive.
                attach_to_case(held, message, now)
                handled.case_ids = [held.id]
                return handled
            applied = self._converse(session, contact, address, message, now)
            handled.replies = applied.messages
            handled.case_ids = [case.id for case in applied.cases]
            return handled

    def _converse(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        now: datetime,
    ) -> Applied:
        """What the flows do with a message, by kind: text answers; the rest does not."""
        known = self._has_done_first_contact(session, contact)
        running = active_conversation(session, contact.id)
        if message.kind == "text" or (running is None and not known):
            # Text is an answer. Anything from someone new starts their first contact.
            return self._run_flows(session, contact, address, message, now)
        if message.kind == "start" and running is not None:
            # Pressing Start mid-conversation: ask the question again, nothing lost.
            sprint = self.runtime.runner.repeat(running.state, self.contact_view(contact), now)
            return self.apply_sprint(session, contact, address, running, sprint, now)
        text = {
            "start": texts.WELCOME_BACK,
            "edited": texts.EDIT_NOT_READ,
        }.get(message.kind, texts.ONLY_TEXT)
        return self.say(session, contact, address, text, now)

    def say(
        self, session: Session, contact: Contact, address: ContactAddress, text: str, now: datetime
    ) -> Applied:
        """Queue one system text (from bot.texts) in the person's language."""
        language = self.language_of(contact)
        translated = self.runtime.catalogs.translator(language).gettext(text)
        reply = outbox.enqueue(
            session, address, for_language(translated, language), now, kind="system"
        )
        return Applied(messages=[reply])

    def start(
        self,
        channel: Channel,
        address_text: str,
        flow: str,
        now: datetime,
        *,
        language: str | None = None,
    ) -> Handled:
        """Start `flow` for the person at this address (interrupting any run in progress)."""
        with self.database.write() as session:
            address = self.reception.find_or_create_address(
                session, InboundMessage(channel, address_text, "", now)
            )
            contact = self.lock_contact(session, address.contact_id)
            if language is not None:
                contact.language = language
            _, applied = self.start_locked(session, contact, address, flow, now)
            return Handled(
                contact_id=contact.id,
                message_id=None,
                replies=applied.messages,
                case_ids=[case.id for case in applied.cases],
            )

    def start_locked(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        flow: str,
        now: datetime,
        *,
        priority: int = outbox.PRIORITY_NORMAL,
    ) -> tuple[Conversation, Applied]:
        """Start `flow` inside the caller's transaction, the contact already locked."""
        current = active_conversation(session, contact.id)
        if current is not None:
            end_conversation(current, now, RunStatus.INTERRUPTED, "interrupted")
            session.flush()
        conversation = start_conversation(session, contact, flow, now)
        sprint = self.runtime.runner.start(flow, self.contact_view(contact), now)
        applied = self.apply_sprint(
            session, contact, address, conversation, sprint, now, priority=priority
        )
        return conversation, applied

    def expire_wait(self, contact_id: int, now: datetime) -> Handled:
        """Apply the due timeouts of the person's waiting run (reminders, missed)."""
        with self.database.write() as session:
            contact = self.lock_contact(session, contact_id)
            handled = Handled(contact_id=contact.id, message_id=None)
            conversation = active_conversation(session, contact.id)
            if conversation is None or conversation.wait_until is None:
                return handled
            if conversation.wait_until > now:
                return handled
            if held_case(session, contact.id) is not None:
                # A worker is talking with the person: no reminder, no "missed" behind their
                # back. Look again in an hour; closing the case ends this run anyway.
                conversation.wait_until = now + HELD_RECHECK
                conversation.claimed_until = None
                return handled
            if has_unprocessed_message(session, contact.id):
                # The person answered and the inbox has not got to it yet (a backlog after
                # the worker was down): their answer, not a reminder or a "missed", comes
                # first. The next pass of the timeouts task looks again.
                conversation.claimed_until = None
                return handled
            address = reply_address(session, contact.id)
            if address is None:
                return handled
            sprint = self.runtime.runner.timeout(
                conversation.state, self.contact_view(contact), now
            )
            applied = self.apply_sprint(session, contact, address, conversation, sprint, now)
            handled.replies = applied.messages
            handled.case_ids = [case.id for case in applied.cases]
            return handled

    def language_of(self, contact: Contact) -> str:
        """The language to speak to `contact` in: their choice, the channel's hint, the default."""
        return negotiate(contact.language, contact.language_hint, self.settings.default_language)

    def contact_view(self, contact: Contact) -> ContactView:
        return ContactView(
            language=self.language_of(contact),
            fields=dict(contact.fields),
            timezone=contact.timezone or self.settings.timezone,
        )

    # --- steps of handle() ---

    def lock_contact(self, session: Session, contact_id: int) -> Contact:
        """Load the person for writing; one message of theirs is handled at a time."""
        # Messages from one person are handled one at a time. SQLite already serialises
        # writers (BEGIN IMMEDIATE); PostgreSQL needs the row lock. FOR NO KEY UPDATE, so
        # that a webhook storing the person's next message (its foreign key takes a KEY
        # SHARE lock on the person) does not wait for this transaction.
        query = select(Contact).where(Contact.id == contact_id)
        if self.database.is_postgresql:
            query = query.with_for_update(key_share=True)
        return session.scalars(query).one()

    def _run_flows(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        now: datetime,
    ) -> Applied:
        conversation = active_conversation(session, contact.id)
        runner = self.runtime.runner
        view = self.contact_view(contact)
        if conversation is not None:
            try:
                sprint = runner.resume(conversation.state, view, message.text or "", now)
            except StateError:
                log.exception("conversation %s has unreadable state; restarting", conversation.id)
                end_conversation(conversation, now, RunStatus.FAILED, "unreadable_state")
                conversation = None
        if conversation is None:
            flow = INBOX_FLOW if self._has_done_first_contact(session, contact) else None
            conversation = start_conversation(session, contact, flow or FIRST_CONTACT_FLOW, now)
            sprint = runner.start(conversation.flow, view, now)
        message.conversation_id = conversation.id
        return self.apply_sprint(session, contact, address, conversation, sprint, now)

    def apply_sprint(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        conversation: Conversation,
        sprint: Sprint,
        now: datetime,
        *,
        priority: int = outbox.PRIORITY_NORMAL,
    ) -> Applied:
        """Store a sprint's state and apply its events."""
        applied = apply_events(
            session,
            contact,
            address,
            sprint.events,
            now,
            conversation_id=conversation.id,
            default_language=self.settings.default_language,
            default_timezone=self.settings.timezone,
            priority=priority,
        )
        conversation.updated_at = now
        conversation.claimed_until = None
        if sprint.state is None:
            outcome = sprint.outcome or "completed"
            status = RunStatus.FAILED if outcome == "failed" else RunStatus.COMPLETED
            results = final_results(conversation.state, sprint.events)
            end_conversation(conversation, now, status, outcome)
            # What the run collected stays readable (the case page shows it; erasure
            # removes it with the rest of the person's data).
            conversation.state = {"results": results}
            for on_end in self.run_end_hooks:
                on_end(session, conversation, outcome, results, now)
        else:
            conversation.state = sprint.state
            conversation.wait_until = sprint.wait_until
        return applied

    def _has_done_first_contact(self, session: Session, contact: Contact) -> bool:
        done = session.scalar(
            select(Conversation.id)
            .where(
                Conversation.contact_id == contact.id,
                Conversation.flow == FIRST_CONTACT_FLOW,
                Conversation.status != RunStatus.ACTIVE,
            )
            .limit(1)
        )
        return done is not None


def reply_address(session: Session, contact_id: int) -> ContactAddress | None:
    """Where to write to the person: the address they last wrote from."""
    return session.scalar(
        select(ContactAddress)
        .where(ContactAddress.contact_id == contact_id)
        .order_by(ContactAddress.last_inbound_at.desc().nulls_last(), ContactAddress.id.desc())
        .limit(1)
    )


def final_results(state: dict[str, Any], events: Sequence[Event]) -> dict[str, Any]:
    """A run's results once it ended: what was stored, plus what its last sprint saved."""
    results = dict(state.get("results", {}))
    results.update({event.name: event.value for event in events if isinstance(event, ResultSaved)})
    return results


def held_case(session: Session, contact_id: int) -> Case | None:
    """The case a worker currently holds for this person, if any."""
    return session.scalar(
        select(Case)
        .where(Case.contact_id == contact_id, Case.status == CaseStatus.CLAIMED)
        .order_by(Case.claimed_at.desc())
        .limit(1)
    )


def has_unprocessed_message(session: Session, contact_id: int) -> bool:
    """Whether a message from the person is stored and waits for the inbox."""
    waiting = select(Message.id).where(
        Message.contact_id == contact_id,
        Message.direction == Direction.IN,
        Message.status == MessageStatus.RECEIVED,
    )
    return session.scalar(waiting.limit(1)) is not None


def active_conversation(session: Session, contact_id: int) -> Conversation | None:
    """The person's waiting run, if any."""
    return session.scalar(
        select(Conversation).where(
            Conversation.contact_id == contact_id, Conversation.status == RunStatus.ACTIVE
        )
    )


def start_conversation(
    session: Session, contact: Contact, flow: str, now: datetime
) -> Conversation:
    """A new active run row (the engine fills its state)."""
    conversation = Conversation(
        contact_id=contact.id,
        flow=flow,
        status=RunStatus.ACTIVE,
        state={},
        started_at=now,
        updated_at=now,
    )
    session.add(conversation)
    session.flush()
    return conversation


def end_conversation(
    conversation: Conversation, now: datetime, status: RunStatus, outcome: str
) -> None:
    """Close a run; its final state is dropped (the events already did their work)."""
    conversation.status = status
    conversation.outcome = outcome[:32]
    conversation.ended_at = now
    conversation.wait_until = None
    conversation.claimed_until = None
