"""The contact card: who the person is, how to reach them, what they told the assistant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit, clock
from bot.conversation import FIRST_CONTACT_FLOW
from bot.dashboard.access import Account, signed_in
from bot.dashboard.blueprint import blueprint
from bot.dashboard.labels import FIELDS, HIDDEN_FIELDS, label, value_label
from bot.dashboard.masking import format_address
from bot.extensions import database, settings
from bot.i18n import negotiate
from storage.models import AuditEntry, Case, Contact, Conversation, RunStatus


@dataclass(frozen=True)
class Channel:
    """One way to reach the person, in full (the card is an audited view)."""

    channel: str
    address: str
    last_inbound_at: datetime | None
    unreachable: bool


@dataclass(frozen=True)
class EarlierCase:
    """Another case of the same person, for the card's history."""

    id: int
    status: str
    reason: str
    category: str | None
    opened_at: datetime
    closed_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class ContactCard:
    """What the case page and the contact page show about a person."""

    id: int
    name: str | None
    language: str
    channels: list[Channel]
    consented: str
    opted_out_at: datetime | None
    erased: bool
    created_at: datetime
    last_seen_at: datetime | None
    collected: list[tuple[str, str]]
    cases: list[EarlierCase]


def contact_card(
    session: Session, contact_id: int, *, except_case: int | None = None
) -> ContactCard:
    """The card of a contact; 404 when there is none."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        abort(404)
    cases = session.scalars(
        select(Case)
        .where(Case.contact_id == contact.id, Case.id != (except_case or 0))
        .order_by(Case.opened_at.desc())
    )
    return ContactCard(
        id=contact.id,
        name=contact.display_name,
        language=negotiate(contact.language, contact.language_hint, settings().default_language),
        channels=[
            Channel(
                channel=a.channel,
                address=format_address(a.channel, a.address),
                last_inbound_at=a.last_inbound_at,
                unreachable=a.unreachable_at is not None,
            )
            for a in contact.addresses
        ],
        consented=contact.consent,
        opted_out_at=contact.opted_out_at,
        erased=contact.erased_at is not None,
        created_at=contact.created_at,
        last_seen_at=contact.last_seen_at,
        collected=collected(session, contact),
        cases=[
            EarlierCase(
                id=case.id,
                status=case.status,
                reason=case.reason,
                category=case.category,
                opened_at=case.opened_at,
                closed_at=case.closed_at,
                outcome=case.outcome,
            )
            for case in cases
        ],
    )


def collected(session: Session, contact: Contact) -> list[tuple[str, str]]:
    """The answers saved on the contact and the first contact's results, labelled."""
    answers: dict[str, Any] = dict(contact.fields)
    run = session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == contact.id,
            Conversation.flow == FIRST_CONTACT_FLOW,
            Conversation.status != RunStatus.ACTIVE,
        )
        .order_by(Conversation.ended_at.desc(), Conversation.id.desc())
        .limit(1)
    )
    if run is not None:
        results = run.state.get("results", {})
        if isinstance(results, dict):
            answers.update({k: v for k, v in results.items() if k not in answers})
    # Known fields in a fixed, readable order; anything else after them, as it was named.
    ordered = [key for key in FIELDS if key in answers] + sorted(set(answers) - set(FIELDS))
    return [
        (label(FIELDS, key), value_label(answers[key]))
        for key in ordered
        if key not in HIDDEN_FIELDS and answers[key] not in (None, "")
    ]


def record_view(session: Session, account: Account, contact_id: int, page: str) -> None:
    """Write that this worker opened the person's file, and from which page."""
    audit.record(
        session,
        actor=account,
        action=audit.CONTACT_VIEW,
        target_type="contact",
        target_id=contact_id,
        detail={"page": page},
        ip=request.remote_addr,
    )


def record_read_today(session: Session, account: Account, contact_id: int, page: str) -> None:
    """Write that this worker read the person's messages, unless the log already says
    so for today (a live transcript asks every few seconds: one line a day is enough to
    know who read whose messages)."""
    local = clock.now().astimezone(ZoneInfo(settings().timezone))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    seen = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.actor_id == account.id,
            AuditEntry.action == audit.CONTACT_VIEW,
            AuditEntry.target_type == "contact",
            AuditEntry.target_id == contact_id,
            AuditEntry.at >= day,
        )
        .limit(1)
    )
    if seen is None:
        record_view(session, account, contact_id, page)


@blueprint.get("/contacts/<int:contact_id>")
def contact(contact_id: int) -> str:
    """A person's card and all their cases (an audited view of their file)."""
    account = signed_in()
    with database().write() as session:
        card = contact_card(session, contact_id)
        record_view(session, account, contact_id, "contact")
    return render_template("dashboard/contact.html", card=card)


@blueprint.app_template_test("endpoint")
def is_endpoint(name: str) -> bool:
    """`{% if 'dashboard.contact_export' is endpoint %}`: the route exists in this app."""
    return name in current_app.view_functions
