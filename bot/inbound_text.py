"""Cleaning inbound text before it is stored: whatever a provider hands over, a safe string.

The webhook parsers call `clean_text` on what people wrote. It never raises, and it keeps
everything a person meant:

- bytes that are not UTF-8 become U+FFFD (Twilio form bodies are already decoded that way
  by Werkzeug; raw bytes may come from elsewhere);
- lone UTF-16 surrogates (valid in JSON, "\\ud83d" alone) become U+FFFD; a pair split in
  two code points is joined. PostgreSQL refuses to store surrogates, so a single one would
  turn a Telegram update into a 500 that Telegram retries for ever;
- control characters go (NUL is refused by PostgreSQL too), except line breaks (all kinds
  become "\\n") and tabs (a space);
- invisible characters that carry no meaning go: zero-width space, word joiner, BOM, soft
  hyphen, and bidirectional embeddings, overrides and isolates, which could reorder what
  a worker reads on the dashboard. ZWNJ and ZWJ stay: Dari spelling ("می‌خواهم") and
  emoji sequences need them;
- the text is NFC-normalised and stripped of surrounding white space;
- beyond `MAX_INBOUND_CHARS`, it is cut, and a note at the end (within the limit) says
  how long the original was. The
  limit is the longest message a channel delivers (Telegram and WhatsApp: 4096; Twilio
  SMS: 1600), so a real message is never cut; only forged or broken payloads are.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_INBOUND_CHARS", "clean_text", "truncation_note"]

MAX_INBOUND_CHARS = 4096

_LINE_BREAKS = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n"})
_LINE_BREAKS.update({0x2028: "\n", 0x2029: "\n", 0x09: " "})
_INVISIBLE = frozenset(
    {
        0x00AD,  # soft hyphen
        0x061C,  # Arabic letter mark
        0x180E,  # Mongolian vowel separator
        0x200B,  # zero-width space
        0x200E,  # left-to-right mark
        0x200F,  # right-to-left mark
        *range(0x202A, 0x202F),  # embeddings and overrides
        *range(0x2060, 0x2065),  # word joiner, invisible operators
        *range(0x2066, 0x206A),  # isolates
        0xFEFF,  # byte order mark, zero-width no-break space
    }
)


def _kept(char: str) -> bool:
    code = ord(char)
    if char == "\n":
        return True
    if code in _INVISIBLE:
        return False
    # Noncharacters: never text, and some databases and fonts choke on them.
    if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
        return False
    return unicodedata.category(char) != "Cc"


def truncation_note(original_length: int) -> str:
    """What replaces the end of a text cut at the limit (for the worker who reads it)."""
    return f" […] [truncated: {original_length} characters]"


def clean_text(raw: str | bytes, *, limit: int = MAX_INBOUND_CHARS) -> str:
    """A storable, meaningful version of what a person sent; never raises."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    # Through UTF-16: a split surrogate pair is joined, a lone surrogate replaced.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    text = "".join(char for char in text if _kept(char))
    text = unicodedata.normalize("NFC", text).strip()
    if len(text) > limit:
        # The note counts in the limit, so cleaning a cleaned text changes nothing.
        note = truncation_note(len(text))
        text = text[: max(limit - len(note), 0)].rstrip() + note
    return text
