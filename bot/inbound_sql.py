"""The statements a webhook runs, built once.

A webhook only stores the message, so this is most of its cost. For someone who wrote
before, one statement finds their address and stores the message, skipping a provider id
seen before (`ON CONFLICT DO NOTHING`, the same SQL on SQLite and PostgreSQL): one round
trip to the database, a transaction by itself on the thread's own connection
(Database.execute_alone). When it stores nothing — a new sender, or a retried webhook —
Reception.receive looks further.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, TextualSelect, bindparam, column, delete, insert, select, text, update

from storage.models import Contact, ContactAddress, Message, PersonKey

_messages = cast(Table, Message.__table__)
_contacts = cast(Table, Contact.__table__)
_addresses = cast(Table, ContactAddress.__table__)
_keys = cast(Table, PersonKey.__table__)


def _store_from(source: str, condition: str) -> TextualSelect:
    """The inbound store statement, reading the address (and person) from `source`."""
    return (
        text(
            f"""
            INSERT INTO messages
                (contact_id, address_id, direction, channel, provider_id, kind, text, status,
                 created_at)
            SELECT a.contact_id, a.id, 'in', a.channel, :provider_id, :kind, :text,
                   'received', :created_at
            FROM {source}
            WHERE a.channel = :channel AND a.address = :address{condition}
            ON CONFLICT (channel, direction, provider_id) DO NOTHING
            RETURNING id, contact_id
            """  # noqa: S608 - two fixed fragments below, never input
        )
        # The columns' own types, so texts are encrypted and times stored as UTC as usual.
        .bindparams(
            bindparam("text", type_=_messages.c.text.type),
            bindparam("created_at", type_=_messages.c.created_at.type),
        )
        .columns(column("id"), column("contact_id"))
    )


STORE_FROM_KNOWN_ADDRESS = _store_from("contact_addresses AS a", "")

# The same, the text sealed with the person's data key (bot.envelope): stored only if
# that key is still the person's, so a key remembered by this process from before an
# erasure never seals a message of someone new at the same address.
STORE_WITH_KEY = _store_from(
    "contact_addresses AS a JOIN contacts AS c ON c.id = a.contact_id",
    " AND c.key_id = :key_id",
)

# The data key of the person behind an address (none for someone known from before keys
# per person, until `relais keys reencrypt`).
FIND_ADDRESS_KEY = (
    select(ContactAddress.contact_id, Contact.key_id, PersonKey.sealed)
    .join(Contact, Contact.id == ContactAddress.contact_id)
    .outerjoin(PersonKey, PersonKey.id == Contact.key_id)
    .where(
        ContactAddress.channel == bindparam("channel"),
        ContactAddress.address == bindparam("address"),
    )
)

# Who wrote: the address, and the person it belongs to (when the statement above did not
# store anything: was it a new sender, or a retry?).
FIND_ADDRESS = select(ContactAddress.id, ContactAddress.contact_id).where(
    ContactAddress.channel == bindparam("channel"),
    ContactAddress.address == bindparam("address"),
)

# The language Telegram says the person's app uses, when nothing was known of it yet —
# and never for someone erased meanwhile (erasure clears it).
SET_LANGUAGE_HINT = (
    update(Contact)
    .where(
        Contact.id == bindparam("contact_id"),
        Contact.language_hint.is_(None),
        Contact.erased_at.is_(None),
    )
    .values(language_hint=bindparam("language_hint"))
)

# Someone new: the person, then their address — unless another transaction added the
# same address a moment ago (their first two messages together), when this one adds
# nothing and returns no row.
ADD_KEY = insert(_keys).values(
    id=bindparam("id"), sealed=bindparam("sealed"), created_at=bindparam("created_at")
)
ADD_CONTACT = (
    insert(_contacts)
    .values(
        key_id=bindparam("key_id"),
        created_at=bindparam("created_at"),
        fields=bindparam("fields"),
        language_hint=bindparam("language_hint"),
        referral_source=bindparam("referral_source"),
    )
    .returning(_contacts.c.id)
)
ADD_ADDRESS = (
    text(
        """
        INSERT INTO contact_addresses (contact_id, channel, address, created_at)
        VALUES (:contact_id, :channel, :address, :created_at)
        ON CONFLICT (channel, address) DO NOTHING
        RETURNING id
        """
    )
    .bindparams(bindparam("created_at", type_=_addresses.c.created_at.type))
    .columns(column("id"))
)
REMOVE_CONTACT = delete(_contacts).where(_contacts.c.id == bindparam("contact_id"))
REMOVE_KEY = delete(_keys).where(_keys.c.id == bindparam("key_id"))
