"""Reception: an inbound message stored, and nothing more, before the webhook answers.

Webhooks must answer fast, whatever else is going on (a check-in wave, a crowd of new
people): storing is all they do, here, and the worker's inbox task does the rest in each
person's order (bot/inbox.py, ConversationService.process). This module needs only the
database, not the flows or the safety lexicon, so a web process is ready at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy.exc
from sqlalchemy import Connection, Executable
from sqlalchemy.orm import Session

from bot import envelope, inbound_sql
from storage.db import Database
from storage.models import (
    Channel,
    ContactAddress,
    Message,
)
from storage.types import Owned

log = logging.getLogger(__name__)

# Addresses whose data key a web process keeps in memory (a few hundred bytes each).
ADDRESS_KEYS = 10_000


@dataclass(frozen=True)
class InboundMessage:
    """A message from a person, as a channel adapter parsed it."""

    channel: Channel
    address: str
    text: str
    received_at: datetime
    provider_id: str | None = None
    # The channel's guess at the person's language (Telegram `language_code`).
    language_hint: str | None = None
    # "text", or what else arrived ("sticker", "photo", "voice"…), described in `text`.
    kind: str = "text"
    # Where the person came from (a Telegram /start payload), kept on a new contact.
    referral: str | None = None


@dataclass
class Handled:
    """What handling one inbound message did."""

    contact_id: int
    message_id: int | None
    duplicate: bool = False
    replies: list[Message] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)


class Reception:
    """Stores inbound messages for the worker."""

    def __init__(self, database: Database, on_received: Callable[[], None] | None = None) -> None:
        self.database = database
        # Rung after a message is stored: in `relais serve`, it wakes the worker thread.
        self.on_received = on_received
        # The data key of each address that wrote lately (bot.envelope), so that a known
        # sender's message is stored, sealed with their key, in one statement.
        self._keys: envelope.Remembered[tuple[str, str], envelope.DataKey] = envelope.Remembered(
            ADDRESS_KEYS
        )

    def receive(self, inbound: InboundMessage) -> Handled:
        """Store the message, nothing more: what a webhook does before answering.

        One statement for someone who wrote before (two on Telegram the first time the app
        tells their language), one short transaction for someone new; a provider id seen
        before changes nothing. The worker's inbox task then processes each person's
        messages in order (bot/inbox.py).
        """
        try:
            received = self._receive(inbound)
        except sqlalchemy.exc.IntegrityError:
            # Duplicates never get here (ON CONFLICT DO NOTHING): the person was erased
            # while their message was being stored, and the foreign keys refused it. Once
            # more: to Relais they are someone new now, as erasure intends.
            log.info("storing a %s message again: its sender was just erased", inbound.channel)
            received = self._receive(inbound)
        if received.message_id is not None and self.on_received is not None:
            self.on_received()
        return received

    def _receive(self, inbound: InboundMessage) -> Handled:
        values = {
            "channel": inbound.channel,
            "address": inbound.address,
            "provider_id": inbound.provider_id,
            "kind": inbound.kind,
            "text": inbound.text,
            "created_at": inbound.received_at,
        }
        # Someone who wrote before: one statement, its own transaction.
        stored = self._store_known(inbound, values)
        if stored:
            message_id, contact_id = stored[0]
            if inbound.language_hint:
                self.database.execute_alone(
                    inbound_sql.SET_LANGUAGE_HINT,
                    {"contact_id": contact_id, "language_hint": inbound.language_hint[:16]},
                    replay_safe=True,  # it only fills in an empty field
                )
            return Handled(contact_id=contact_id, message_id=message_id)
        # Someone new, or a retried webhook: one short transaction, done again on a new
        # connection if this one is lost (providers do not resend an SMS on a 5xx). When
        # the connection was lost during COMMIT, a second run stores nothing more if the
        # first committed, thanks to the provider id; without one, it is not run again.
        return self.database.write_retrying(
            lambda session: self._receive_new(session.connection(), inbound, values),
            replay_safe=inbound.provider_id is not None,
        )

    def _store_known(self, inbound: InboundMessage, values: Mapping[str, object]) -> list[Any]:
        """Store the message of someone who wrote before; no row if they did not (or if
        the provider id was seen before)."""
        # Run again after a lost connection only when the provider id makes a second run
        # store nothing if the first did (a message without one would be doubled).
        replay_safe = inbound.provider_id is not None
        if not envelope.enabled():
            return self.database.execute_alone(
                inbound_sql.STORE_FROM_KNOWN_ADDRESS, values, replay_safe=replay_safe
            )
        address = (inbound.channel, inbound.address)
        key = self._keys.get(address)
        if key is None:
            found = self.database.execute_alone(
                inbound_sql.FIND_ADDRESS_KEY, values, replay_safe=True
            )
            if not found:
                return []  # someone new
            key = self._remember(address, found[0])
        statement, sealed = _sealed(values, key)
        stored = self.database.execute_alone(statement, sealed, replay_safe=replay_safe)
        if not stored:
            # A retry, or the person was erased since their key was remembered: the
            # transaction below tells which.
            self._keys.drop(address)
        return stored

    def _remember(self, address: tuple[str, str], found: Any) -> envelope.DataKey | None:
        """The key of the person found at `address` (kept for next time), if they have one."""
        if found.key_id is None:
            return None
        key = envelope.opened(found.key_id, found.sealed)
        self._keys.put(address, key)
        return key

    def _receive_new(
        self, connection: Connection, inbound: InboundMessage, values: Mapping[str, object]
    ) -> Handled:
        key = {"channel": inbound.channel, "address": inbound.address}
        if connection.execute(inbound_sql.FIND_ADDRESS, key).first() is None:
            self._add_address(connection, inbound)
        data_key = None
        if envelope.enabled():
            found = connection.execute(inbound_sql.FIND_ADDRESS_KEY, key).one()
            data_key = self._remember((inbound.channel, inbound.address), found)
        statement, sealed = _sealed(values, data_key)
        row = connection.execute(statement, sealed).first()
        if row is not None:
            return Handled(contact_id=row.contact_id, message_id=row.id)
        # The address was there and the provider id too: Twilio or Telegram retried.
        log.info("ignoring a retried %s message %s", inbound.channel, inbound.provider_id)
        address = connection.execute(inbound_sql.FIND_ADDRESS, key).one()
        return Handled(contact_id=address.contact_id, message_id=None, duplicate=True)

    def find_or_create_address(self, session: Session, inbound: InboundMessage) -> ContactAddress:
        """The address the message came from, with a new person behind it if need be."""
        connection = session.connection()
        key = {"channel": inbound.channel, "address": inbound.address}
        found = connection.execute(inbound_sql.FIND_ADDRESS, key).first()
        address_id = found.id if found is not None else self._add_address(connection, inbound)
        address = session.get(ContactAddress, address_id)
        assert address is not None  # found or added in this transaction
        return address

    def _add_address(self, connection: Connection, inbound: InboundMessage) -> int:
        """A new person and their address (Core statements, no ORM flush); its id.

        When the person's first two messages arrive together, the other transaction may
        add the same address first: ours then adds nothing, the person we added is removed,
        and the one already there is used.
        """
        key_id = envelope.add_key(connection, inbound_sql.ADD_KEY)
        contact_id = connection.execute(
            inbound_sql.ADD_CONTACT,
            {
                "key_id": key_id,
                "created_at": inbound.received_at,
                "fields": {},
                "language_hint": (inbound.language_hint or None) and inbound.language_hint[:16],
                "referral_source": inbound.referral,
            },
        ).scalar_one()
        key = {"channel": inbound.channel, "address": inbound.address}
        added = connection.execute(
            inbound_sql.ADD_ADDRESS,
            {**key, "contact_id": contact_id, "created_at": inbound.received_at},
        ).scalar()
        if added is not None:
            return int(added)
        connection.execute(inbound_sql.REMOVE_CONTACT, {"contact_id": contact_id})
        if key_id is not None:
            connection.execute(inbound_sql.REMOVE_KEY, {"key_id": key_id})
        return int(connection.execute(inbound_sql.FIND_ADDRESS, key).one().id)


def _sealed(
    values: Mapping[str, object], key: envelope.DataKey | None
) -> tuple[Executable, Mapping[str, object]]:
    """The store statement and its values: the text sealed with the person's key, or
    (someone without one yet) with the master keys."""
    if key is None:
        return inbound_sql.STORE_FROM_KNOWN_ADDRESS, values
    return inbound_sql.STORE_WITH_KEY, {
        **values,
        "text": Owned(str(values["text"]), key),
        "key_id": key.id,
    }
