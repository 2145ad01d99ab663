"""What the simulated person's phone shows: messages as SMS, WhatsApp or Telegram would.

SMS and WhatsApp show the choices as numbered lines (the layout the Twilio adapter sends),
SMS with its cost in segments; Telegram shows the text alone and the choices of the
latest message as keyboard buttons. Reading only: the transcript comes from the messages
the conversation service stored and the dispatcher delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.sms import SmsCount, render_sms, segments
from storage.models import Case, Channel, ContactAddress, Direction, Message, MessageStatus

# Outbound messages the phone has received.
SHOWN = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ})


@dataclass(frozen=True)
class Bubble:
    """One message on the screen."""

    id: int
    incoming: bool  # from the person (their own message), or from Relais
    lines: tuple[str, ...]
    at: datetime
    # "shown", "queued" (still in the outbox) or "failed" (with why).
    state: str
    failure: str | None = None
    sms: SmsCount | None = None
    # Telegram: the reply keyboard this message brought.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseLine:
    """A case the conversation opened, as the simulator lists it."""

    id: int
    reason: str
    priority: str
    queue: str
    status: str


@dataclass(frozen=True)
class Screen:
    """The whole conversation, and the keyboard Telegram would show now."""

    bubbles: list[Bubble] = field(default_factory=list)
    keyboard: tuple[str, ...] = ()
    cases: list[CaseLine] = field(default_factory=list)
    contact_id: int | None = None


def screen(session: Session, address: str, display: str) -> Screen:
    """The simulator address's conversation, shown as `display` (sms, whatsapp, telegram)."""
    found = session.scalar(
        select(ContactAddress).where(
            ContactAddress.channel == Channel.SIMULATOR, ContactAddress.address == address
        )
    )
    if found is None:
        return Screen()
    messages = session.scalars(
        select(Message)
        .where(Message.address_id == found.id)
        .order_by(Message.created_at, Message.id)
    ).all()
    bubbles = [bubble(message, display) for message in messages]
    cases = session.scalars(
        select(Case).where(Case.contact_id == found.contact_id).order_by(Case.id)
    ).all()
    return Screen(
        bubbles=bubbles,
        keyboard=keyboard(bubbles) if display == "telegram" else (),
        cases=[CaseLine(c.id, c.reason, c.priority, c.queue, c.status) for c in cases],
        contact_id=found.contact_id,
    )


def bubble(message: Message, display: str) -> Bubble:
    """How one stored message looks on the chosen kind of phone."""
    text = message.text or ""
    incoming = message.direction == Direction.IN
    choices = tuple((message.payload or {}).get("choices", ())) if not incoming else ()
    body = text if display == "telegram" else render_sms(text, choices)
    if incoming or message.status in SHOWN:
        state = "shown"
    elif message.status == MessageStatus.FAILED:
        state = "failed"
    else:
        state = "queued"
    return Bubble(
        id=message.id,
        incoming=incoming,
        lines=tuple(body.split("\n")),
        at=message.created_at,
        state=state,
        failure=message.error_detail if state == "failed" else None,
        # What the person pays for is what Relais sends; their own messages are theirs.
        sms=segments(body) if display == "sms" and not incoming else None,
        choices=choices if display == "telegram" else (),
    )


def keyboard(bubbles: list[Bubble]) -> tuple[str, ...]:
    """Telegram's reply keyboard: the latest shown message's choices, until the person answers.

    A message without choices removes the keyboard (the adapter sends ReplyKeyboardRemove),
    and the keyboard is one-time: it hides once the person has replied.
    """
    for item in reversed(bubbles):
        if item.incoming:
            return ()
        if item.state == "shown":
            return item.choices
    return ()
