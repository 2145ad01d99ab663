"""A channel adapter that records what the dispatcher asks it to send, for tests."""

from __future__ import annotations

import threading

from bot.channels.base import Outbound, RateLimit, Sent
from storage.models import Channel


class RecordingAdapter:
    """Accepts every message on its channels at once, and keeps them in `sent`."""

    longest_send = 0.0

    def __init__(self, *channels: Channel) -> None:
        self.channels: tuple[Channel, ...] = channels or (Channel.SMS,)
        self.sent: list[Outbound] = []
        self._lock = threading.Lock()

    def rate_limit(self, channel: Channel) -> RateLimit:
        return RateLimit(per_second=10_000.0)

    def send(self, outbound: Outbound) -> Sent:
        with self._lock:
            self.sent.append(outbound)
            return Sent(provider_id=f"SM{len(self.sent):04d}")

    def close(self) -> None:
        """Nothing to release."""

    def to(self, address: str) -> list[str]:
        """The texts sent to this address, in order."""
        return [outbound.text for outbound in self.sent if outbound.address == address]
