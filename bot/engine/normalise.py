"""One text normalisation for every matcher: answers, global commands and danger detection.

People type the same word in many ways: with or without accents, capitals or harakat, on
an Arabic or a Persian keyboard, with a Russian or a Ukrainian layout, without Turkish
letters, stretching a letter for emphasis. Every reader of text compares words after
`fold` (and `words` for matchers that work word by word), so a word listed once matches
every way of typing it, and two matchers never disagree about what a message says.

What is *not* merged: letters doubled in a word's real spelling ("appelle", "rappel",
"kill"). Only runs of three or more are taken for emphasis: "mourrrir" reads "mourir",
"killlll" reads "kil" or "kill" (`stretched_readings` gives both).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "fold",
    "is_edge_junk",
    "normalise_digits",
    "stretched_readings",
    "words",
]

_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})  # accents, harakat, keycaps, ZWNJ, isolates
_LETTER_VARIANTS = str.maketrans(
    {
        "\u2018": "'",  # curly apostrophes: phones insert them, people type straight ones
        "\u2019": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "œ": "oe",
        "æ": "ae",
        "\u0640": None,  # Arabic tatweel only stretches a word
        # Arabic and Persian keyboards spell yeh and kaf differently; people use either.
        "\u064a": "\u06cc",  # ي → ی
        "\u0649": "\u06cc",  # ى → ی
        "\u0643": "\u06a9",  # ك → ک
        # Teh marbuta and the Persian heh forms are read as heh.
        "\u0629": "\u0647",  # ة → ه
        "\u06d5": "\u0647",  # ە → ه (what NFKD leaves of ۀ)
        "\u06be": "\u0647",  # ھ → ه
        "\u06c1": "\u0647",  # ہ → ه
        "\u0671": "\u0627",  # ٱ → ا
        # Turkish dotless i: phones without a Turkish keyboard type "olmek", "canima".
        "\u0131": "i",
        # Ukrainian and Russian spellings of the same sounds, since many people write a
        # mix of both; the soft and hard signs, often left out, are dropped.
        "\u0456": "\u0438",  # і → и
        "\u044b": "\u0438",  # ы → и
        "\u0454": "\u0435",  # є → е
        "\u044d": "\u0435",  # э → е
        "\u0491": "\u0433",  # ґ → г
        "\u044c": None,  # ь
        "\u044a": None,  # ъ
    }
)
_WORD = re.compile(r"\w+(?:'\w+)*")
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")


def is_edge_junk(char: str) -> bool:
    """Whitespace or punctuation, which `fold` trims from both ends."""
    return char.isspace() or unicodedata.category(char).startswith("P")


def fold(text: str) -> str:
    """Fold text for comparison: casefold, drop accents and harakat, merge letter variants.

    Spaces are tidied and punctuation trimmed from both ends; punctuation inside is kept
    (matchers that split clauses need it).
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    composed = unicodedata.normalize("NFC", kept.translate(_LETTER_VARIANTS))
    folded = " ".join(composed.split())
    start, end = 0, len(folded)
    while start < end and is_edge_junk(folded[start]):
        start += 1
    while end > start and is_edge_junk(folded[end - 1]):
        end -= 1
    return folded[start:end]


def normalise_digits(text: str) -> str:
    """Replace every decimal digit (Arabic-Indic ٠-٩, Persian ۰-۹, …) with its ASCII digit."""
    return "".join(
        str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in text
    )


def stretched_readings(word: str) -> tuple[str, ...]:
    """A word's readings once emphasis is removed: a run of 3+ letters read once, then twice.

    "mourrrir" → ("mourir", "mourrir"); "killll" → ("kil", "kill"); a word without such
    a run is read as written.
    """
    if _STRETCHED.search(word) is None:
        return (word,)
    once = _STRETCHED.sub(r"\1", word)
    twice = _STRETCHED.sub(r"\1\1", word)
    return (once, twice)


def words(text: str) -> tuple[str, ...]:
    """The words of a text (folded, ASCII digits, apostrophes kept inside), emphasis removed."""
    return tuple(
        stretched_readings(word)[0] for word in _WORD.findall(fold(normalise_digits(text)))
    )
