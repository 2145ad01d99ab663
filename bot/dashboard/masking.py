"""Addresses as lists show them: enough to tell two people apart, not enough to call."""

from __future__ import annotations

MASK = "••"


def mask_address(channel: str, address: str) -> str:
    """`+33 6 •• •• •• 34` for a French mobile; the last two digits of anything else."""
    digits = "".join(c for c in address if c.isdigit())
    if len(digits) < 4:
        return MASK
    if channel in ("sms", "whatsapp") and address.startswith("+33") and len(digits) == 11:
        return f"+33 {digits[2]} {MASK} {MASK} {MASK} {digits[-2:]}"
    if channel in ("sms", "whatsapp") and address.startswith("+"):
        return f"+{digits[:2]} {MASK} {MASK} {digits[-2:]}"
    return f"{MASK} {MASK} {digits[-2:]}"


def format_address(channel: str, address: str) -> str:
    """The full address, grouped for reading (`+33 6 39 98 01 34`) when it is French."""
    digits = "".join(c for c in address if c.isdigit())
    if channel in ("sms", "whatsapp") and address.startswith("+33") and len(digits) == 11:
        pairs = " ".join(digits[i : i + 2] for i in range(3, 11, 2))
        return f"+33 {digits[2]} {pairs}"
    return address
