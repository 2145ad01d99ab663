"""The simulator channel: messages are shown on a screen (the web simulator, `relais chat`).

Nothing leaves the machine; sending only marks the message delivered, through the same
outbox and dispatcher as real channels, so the simulator shows what a phone would get.
"""

from __future__ import annotations

from bot.channels.base import Outbound, RateLimit, Sent
from storage.models import Channel


class SimulatorAdapter:
    """Delivers simulator messages instantly."""

    channels: tuple[Channel, ...] = (Channel.SIMULATOR,)
    longest_send = 0.0

    def rate_limit(self, channel: Channel) -> RateLimit:
        return RateLimit(per_second=1000.0)

    def send(self, outbound: Outbound) -> Sent:
        return Sent(provider_id=None)

    def close(self) -> None:
        """Nothing to release."""
