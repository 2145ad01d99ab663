"""What every channel adapter provides, and how it reports failure.

Adapters are called by the outbox dispatcher, outside any database transaction. They
send one message and return the provider's id, or raise `ChannelError`, saying whether
trying again could help (`permanent`) and, when the provider said so, how long to wait
(`retry_after`) and what the failure says about the address.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from storage.models import Channel


class AddressProblem(enum.StrEnum):
    """What a permanent failure tells us about the person's address."""

    # The person asked their operator or the provider to stop (Twilio 21610).
    OPTED_OUT = "opted_out"
    # The number or chat cannot receive (invalid, landline, unknown, deactivated).
    UNREACHABLE = "unreachable"
    # The person blocked the bot (Telegram 403).
    BLOCKED = "blocked"


class ChannelError(Exception):
    """Sending failed. `permanent`: never retry. `retry_after`: seconds the provider asked for.
    `throttled`: the provider said "too many requests" (HTTP 429): the whole channel waits.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        retry_after: float | None = None,
        address_problem: AddressProblem | None = None,
        throttled: bool = False,
    ) -> None:
        super().__init__(message)
        self.throttled = throttled
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        self.address_problem = address_problem


@dataclass(frozen=True)
class Outbound:
    """One message to send, as the dispatcher hands it to an adapter."""

    message_id: int
    channel: Channel
    # E.164 for SMS and WhatsApp (no `whatsapp:` prefix), the chat id for Telegram.
    address: str
    text: str
    # Shown as numbered lines on SMS/WhatsApp, as reply-keyboard buttons on Telegram.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message."""

    provider_id: str | None


@dataclass(frozen=True)
class RateLimit:
    """How fast a channel may send: overall, and to one address."""

    per_second: float
    per_address_per_second: float | None = None


class ChannelAdapter(Protocol):
    """Sends messages on one or more channels; thread-safe; never touches the database."""

    channels: tuple[Channel, ...]
    # The longest a send() can take before it gives up, in seconds. The dispatcher's lease
    # must outlast it: a row whose lease ended mid-send could be sent again by another.
    longest_send: float

    def rate_limit(self, channel: Channel) -> RateLimit:
        """The sending rate the provider accepts on `channel`."""
        ...

    def send(self, outbound: Outbound) -> Sent:
        """Send one message; raise ChannelError on failure."""
        ...

    def close(self) -> None:
        """Release connections and threads."""
        ...
