"""What the webhooks read from a provider, checked at the boundary: storable, or refused.

Twilio and Telegram send well-formed values, but a forged or garbled request must get a
4xx, not a 500 from the database: PostgreSQL refuses NUL in text and any value longer
than its column, no driver encodes a lone surrogate, and an integer id beyond 64 bits is
not one a provider uses. The two webhooks check every field they read with these:

- an identifier (a message sid, an address, an error code) is either storable as it is,
  or the request is refused. Cleaning it would make it another identifier;
- an id number must fit in 64 bits (Telegram's update and chat ids fit in 52);
- a language tag is a hint: one that is not a tag is dropped, never the message.

Free text is another matter: what a person wrote is cleaned, never refused
(`bot.inbound_text.clean_text`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypeGuard

__all__ = ["INT64_MAX", "INT64_MIN", "is_int64", "language_tag", "storable_identifier"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Control (NUL included), format (bidi overrides, zero-width…), surrogate, private-use
# and unassigned characters, and the line and paragraph separators: none belongs in an
# identifier, and some cannot be stored or would disguise it on the dashboard.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# BCP 47 as Telegram uses it ("en", "pt-br", "zh-hans"), "_" tolerated.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
# contacts.language_hint
_MAX_LANGUAGE_TAG = 16


def storable_identifier(raw: str, limit: int) -> str | None:
    """`raw` without surrounding white space if it is a storable identifier; else None.

    Storable: not empty, at most `limit` characters (its column's size), and none of
    the characters above.
    """
    value = raw.strip()
    if not value or len(value) > limit:
        return None
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in value):
        return None
    return value


def is_int64(value: object) -> TypeGuard[int]:
    """An integer (not a bool) that fits in a signed 64-bit column."""
    return (
        isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX
    )


def language_tag(value: object) -> str | None:
    """A language tag as the channel reported it, or None when it is not one.

    Longer than the column, it is cut after its last whole subtag that fits: only the
    language and region are ever read (`bot.i18n.shipped_language`).
    """
    if not isinstance(value, str):
        return None
    tag = value.strip()
    # isascii first: a huge or exotic string is refused before the regular expression.
    if not tag.isascii() or len(tag) > 64 or not _LANGUAGE_TAG.fullmatch(tag):
        return None
    while len(tag) > _MAX_LANGUAGE_TAG:
        # The first subtag has at most 8 letters: this ends.
        tag = tag[: max(tag.rfind("-"), tag.rfind("_"))]
    return tag
