"""`relais chat`: talk to the flows in a terminal, seeing exactly what would be sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock, outbox
from bot.conversation import ConversationService
from bot.engine.model import parse_duration
from bot.engine.text import LRI, PDI
from bot.reception import Handled, InboundMessage
from bot.sms import describe, render_sms, segments
from storage.models import Case, Channel, ContactAddress, Message, OutboxItem

HELP = "Type an answer. /wait 24h lets time pass (reminders, timeouts); /quit or Ctrl-D ends."


class ChatSession:
    """One person's conversation, shown as their phone would show it."""

    def __init__(
        self,
        service: ConversationService,
        address: str,
        display: str,
        echo: Callable[[str], None],
    ) -> None:
        self.service = service
        self.address = address
        self.display = display
        self.echo = echo
        # Time as the person lives it: /wait moves it forward.
        self.offset = timedelta()
        self.contact_id: int | None = None

    def now(self) -> datetime:
        return clock.now() + self.offset

    def start(self, flow: str, language: str | None) -> None:
        """Start `flow` right away (instead of waiting for the person's first message)."""
        self.show(
            self.service.start(Channel.SIMULATOR, self.address, flow, self.now(), language=language)
        )

    def say(self, text: str) -> None:
        """The person sends `text`."""
        inbound = InboundMessage(
            channel=Channel.SIMULATOR,
            address=self.address,
            text=text,
            received_at=self.now(),
        )
        self.show(self.service.handle(inbound))

    def wait(self, duration: str) -> None:
        """Let time pass, then apply the timeouts that came due."""
        self.offset += parse_duration(duration)
        self.echo(f"  … {duration} later")
        if self.contact_id is not None:
            self.show(self.service.expire_wait(self.contact_id, self.now()))

    def show(self, handled: Handled) -> None:
        self.contact_id = handled.contact_id
        with self.service.database.write() as session:
            replies = [session.merge(message) for message in handled.replies]
            # What the hooks queued rather than replied (a danger reply, "someone is
            # coming") goes first, as the dispatcher would send it.
            shown = {message.id for message in replies}
            replies[:0] = [m for m in self._queued(session) if m.id not in shown]
            outbox.mark_shown(session, replies, self.now())
            for message in replies:
                self.echo(self.render(message))
            cases = session.scalars(select(Case).where(Case.id.in_(handled.case_ids))).all()
            for case in cases:
                self.echo(
                    f"  [case #{case.id}: {case.reason}, {case.priority}, queue {case.queue}]"
                )

    def _queued(self, session: Session) -> list[Message]:
        """Messages waiting in the outbox for this person, in the dispatcher's order."""
        return list(
            session.scalars(
                select(Message)
                .join(OutboxItem, OutboxItem.message_id == Message.id)
                .join(ContactAddress, ContactAddress.id == Message.address_id)
                .where(
                    ContactAddress.channel == Channel.SIMULATOR,
                    ContactAddress.address == self.address,
                )
                .order_by(OutboxItem.priority.desc(), OutboxItem.due_at, OutboxItem.id)
            )
        )

    def render(self, message: Message) -> str:
        choices = (message.payload or {}).get("choices", [])
        text = message.text or ""
        if self.display == "telegram":
            buttons = "  ".join(f"[ {label} ]" for label in choices)
            body = f"{text}\n{buttons}" if buttons else text
        else:
            body = render_sms(text, choices)
        shown = body.replace(LRI, "").replace(PDI, "")
        lines = "\n".join(f"  │ {line}" for line in shown.splitlines())
        if self.display == "sms":
            lines += f"\n  └ {describe(segments(body))}"
        return "Relais:\n" + lines


def run(session: ChatSession, lines: Iterable[str], prompt: Callable[[], None]) -> None:
    """Feed lines typed by the person until /quit or the end of input."""
    for raw in lines:
        line = raw.strip()
        if line in {"/quit", "/exit"}:
            break
        if line.startswith("/wait"):
            try:
                session.wait(line.removeprefix("/wait").strip() or "24h")
            except ValueError as error:
                session.echo(f"  {error}")
        elif line == "/help":
            session.echo(HELP)
        elif line:
            session.say(line)
        prompt()
