"""What a text costs on SMS: its encoding, its length in units and its number of segments.

One character outside the GSM-7 alphabet switches the whole message to UCS-2, which holds
less than half as much per SMS: a curly apostrophe in a French prompt can double its cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The SMS layout of a question with choices is the engine's; one definition, used by
# the engine's golden files, the channel adapters and `relais flows check` alike.
from bot.engine.text import numbered as render_sms

__all__ = ["SmsCount", "describe", "render_sms", "segments"]

__all__ = ["SmsCount", "describe", "render_sms", "segments"]

# GSM 03.38 default alphabet. "Ç" is in it, "ç" is not; "é è ù à É" are, "ê â î ô û" not.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as an escape plus the character, so it counts twice.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]

# (units in a single SMS, units per part of a concatenated one: the rest is the header)
_LIMITS: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True, slots=True)
class SmsCount:
    """How a text is sent: its encoding, its length in that encoding's units, its parts."""

    encoding: Encoding
    units: int
    segments: int


def _is_gsm7(char: str) -> bool:
    return char in _GSM7_BASIC or char in _GSM7_EXTENSION


def _char_units(char: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if char in _GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # a UTF-16 surrogate pair: most emoji


def segments(text: str) -> SmsCount:
    """Count the encoding, units and SMS segments a text takes; an empty text is 0 segments."""
    encoding: Encoding = "GSM-7" if all(_is_gsm7(c) for c in text) else "UCS-2"
    sizes = [_char_units(c, encoding) for c in text]
    units = sum(sizes)
    single, per_part = _LIMITS[encoding]
    if units <= single:
        # Nothing to send costs nothing: the engine never sends an empty text.
        return SmsCount(encoding, units, 1 if units else 0)
    # Phones never split an escape pair or a surrogate pair across two parts, so a part may
    # carry one unit less than its limit: pack characters whole instead of dividing.
    parts, used = 1, 0
    for size in sizes:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return SmsCount(encoding, units, parts)


def describe(count: SmsCount) -> str:
    """Describe a count for people: "2 SMS (UCS-2, 98 units)"."""
    unit_word = "unit" if count.units == 1 else "units"
    return f"{count.segments} SMS ({count.encoding}, {count.units} {unit_word})"
