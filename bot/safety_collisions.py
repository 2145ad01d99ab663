"""Cross-language collisions: a one-word phrase or context word that is common elsewhere.

Every lexicon reads every message, since people mix languages. So a one-word phrase of
one lexicon must not match an everyday word of another language: "rape*" against the
French "rappel", "agred*" against the English "agreed". This check runs each one-word
phrase against the most frequent words of every other shipped language (from the
`wordfreq` package, which ships its word lists) and reports a collision, unless the
other language's own lexicon flags that word too (a shared word such as "suicide" or
"overdose" means the same in both).

Context is shared too: a negation, a past or media marker, a figure or a denial of one
Latin (or Cyrillic) lexicon counts for every lexicon of that alphabet
("je suis pas suicidal"). A one-word one that is an everyday word of another language
silences or lets through that language's phrases: the French "ne" denies the Turkish
"ne" (what), the French "news" silences any English message with news in it. Each is
reported unless the other language's lexicon lists the word as context too (it means the
same there) or in its `everyday_words` (it does not count there).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from bot.engine.problems import FlowProblem
from bot.safety_lexicon import (
    MARKER_KINDS,
    SHARED_CONTEXT_SCRIPTS,
    WORD_KINDS,
    SafetyLexicon,
)
from bot.safety_match import CompiledLexicon, combine, compile_phrase, prepare

__all__ = [
    "COMMON_CONTEXT_WORDS",
    "COMMON_WORDS",
    "collisions",
    "common_words",
    "context_collisions",
]

# How many of a language's most frequent words are checked: the everyday vocabulary of
# text messages, well past the words a phrase could reach by accident.
COMMON_WORDS = 25_000
# A context word silences or denies every phrase of the languages it is shared with: it
# must not be one of the everyday words of any of them.
COMMON_CONTEXT_WORDS = 10_000
_PLAIN = re.compile(r"^[^\W\d_]+$")
# wordfreq's name for each language whose words a lexicon may collide with.
WORDFREQ_LANGUAGES = {
    "fr": "fr",
    "en": "en",
    "ar": "ar",
    "fa_AF": "fa",
    "uk": "uk",
    "ru": "ru",
    "pt": "pt",
    "tr": "tr",
}


@functools.cache
def common_words(language: str) -> tuple[str, ...]:
    """The most frequent words of a wordfreq language, as written."""
    from wordfreq import top_n_list

    return tuple(top_n_list(language, COMMON_WORDS))


def collisions(lexicon: SafetyLexicon) -> list[FlowProblem]:
    """Every one-word phrase that matches a common word of another language.

    The search takes seconds; its result depends only on what the lexicons say, not on
    where their files lie, so it is kept per content (a check of a copy of the flows, as
    the tests make, costs nothing more).
    """
    key = _content(lexicon)
    found = _FOUND.get(key)
    if found is None:
        found = _FOUND[key] = tuple(
            (code, problem.line, problem.message) for code, problem in _collisions(lexicon)
        )
    return [
        FlowProblem(lexicon.lexicons[code].file, line, message) for code, line, message in found
    ]


_FOUND: dict[tuple[object, ...], tuple[tuple[str, int, str], ...]] = {}


def _content(lexicon: SafetyLexicon) -> tuple[object, ...]:
    return tuple(
        (
            code,
            compiled.tokeniser.apostrophes,
            tuple(sorted(compiled.tokeniser.spellings.items())),
            compiled.tokeniser.join_next,
            tuple(
                (category, tuple((p.text, p.line, p.pattern.pattern) for p in phrases))
                for category, phrases in compiled.phrases.items()
            ),
        )
        for code, compiled in sorted(lexicon.lexicons.items())
    )


def _collisions(lexicon: SafetyLexicon) -> Iterator[tuple[str, FlowProblem]]:
    anywhere = {
        code: combine([p.pattern for phrases in compiled.phrases.values() for p in phrases])
        for code, compiled in lexicon.lexicons.items()
    }
    for code, wordfreq_code in WORDFREQ_LANGUAGES.items():
        own = lexicon.lexicons.get(code)
        if own is None:
            continue
        words = _prepared(wordfreq_code)
        flagged_by_own = {
            word for word, reading in _readings(own, words) if anywhere[code].match(reading)
        }
        for other in lexicon.lexicons.values():
            if other.code == code:
                continue
            for word, reading in _readings(other, words):
                if word in flagged_by_own or not anywhere[other.code].match(reading):
                    continue
                phrase = _one_word_phrase(other, reading)
                if phrase is not None:
                    yield (
                        other.code,
                        FlowProblem(
                            other.file,
                            phrase[1],
                            f"phrase {phrase[0]!r} matches {word!r}, a common {code} word",
                        ),
                    )


@functools.cache
def _prepared(language: str) -> tuple[tuple[str, str], ...]:
    return tuple((word, prepare(word)) for word in common_words(language))


def _readings(
    lexicon: CompiledLexicon, words: tuple[tuple[str, str], ...]
) -> Iterator[tuple[str, str]]:
    spellings = lexicon.tokeniser.spellings
    for word, prepared in words:
        if _PLAIN.match(prepared):
            tokens = list(spellings.get(prepared, (prepared,)))
        else:
            tokens = lexicon.tokeniser.words(prepared)
        if len(tokens) == 1:
            yield word, f" {tokens[0]} "


def _one_word_phrase(lexicon: CompiledLexicon, reading: str) -> tuple[str, int] | None:
    for phrases in lexicon.phrases.values():
        for phrase in phrases:
            match = phrase.pattern.match(reading)
            if match is not None and match.end() == len(reading) - 1:
                return phrase.text, phrase.line
    return None


def context_collisions(lexicon: SafetyLexicon) -> list[FlowProblem]:
    """Every one-word context entry shared with a language in which it is an everyday word."""
    key = _context_content(lexicon)
    found = _CONTEXT_FOUND.get(key)
    if found is None:
        found = _CONTEXT_FOUND[key] = tuple(
            (code, problem.line, problem.message) for code, problem in _context_collisions(lexicon)
        )
    return [
        FlowProblem(lexicon.lexicons[code].file, line, message) for code, line, message in found
    ]


_CONTEXT_FOUND: dict[tuple[object, ...], tuple[tuple[str, int, str], ...]] = {}


def _context_content(lexicon: SafetyLexicon) -> tuple[object, ...]:
    return tuple(
        (
            code,
            compiled.script,
            compiled.tokeniser.apostrophes,
            tuple(sorted(compiled.tokeniser.spellings.items())),
            compiled.tokeniser.join_next,
            tuple(sorted(compiled.everyday)),
            compiled.context.negation_endings,
            tuple((kind, words) for kind, words in sorted(compiled.context_words.items())),
            tuple(
                (kind, tuple((p.text, p.line, p.pattern.pattern) for p in phrases))
                for kind, phrases in sorted(compiled.markers.items())
            ),
        )
        for code, compiled in sorted(lexicon.lexicons.items())
    )


def _context_collisions(lexicon: SafetyLexicon) -> Iterator[tuple[str, FlowProblem]]:
    for code, wordfreq_code in WORDFREQ_LANGUAGES.items():
        reader = lexicon.lexicons.get(code)
        if reader is None or reader.script not in SHARED_CONTEXT_SCRIPTS:
            continue
        common = [
            (word, reading)
            for word, reading in _readings(reader, _prepared(wordfreq_code)[:COMMON_CONTEXT_WORDS])
            if reading.strip() not in reader.everyday
        ]
        for other in lexicon.lexicons.values():
            if other.code == code or other.script != reader.script:
                continue
            found: dict[tuple[str, int, str], list[str]] = {}
            for kind, line, entry, word in _shared_entries(other, common):
                if not _own_context(reader, word):
                    found.setdefault((kind, line, entry), []).append(word)
            for (kind, line, entry), words in found.items():
                listed = ", ".join(repr(word) for word in words[:3])
                yield (
                    other.code,
                    FlowProblem(
                        other.file,
                        line,
                        f"{kind} {entry!r} reads {listed}, common {code} words, in every {code} "
                        f"message: list {entry!r} in {code}.yaml's everyday_words if it means "
                        f"something else there, or in its own {kind} if it means the same",
                    ),
                )


def _shared_entries(
    lexicon: CompiledLexicon, common: list[tuple[str, str]]
) -> Iterator[tuple[str, int, str, str]]:
    """(kind, line, entry, common word) for each one-word context entry a common word matches.

    `entry` is the word of the lexicon as written: a negation, or the choice of a one-word
    marker ("news" of "film/films/.../news").
    """
    readings = {reading.strip(): word for word, reading in common}
    for kind in WORD_KINDS:
        for word, line in lexicon.context_words.get(kind, ()):
            if "*" not in word and word in readings:
                yield kind, line, word, readings[word]
    for kind in MARKER_KINDS:
        one_word = [p for p in lexicon.markers.get(kind, ()) if len(p.text.split()) == 1]
        if not one_word:
            continue
        anywhere = combine([p.pattern for p in one_word])
        for word, reading in common:
            if anywhere.match(reading) is None:
                continue
            for phrase in one_word:
                if phrase.pattern.match(reading) is not None:
                    yield kind, phrase.line, _choice_of(lexicon, phrase.text, reading), word
                    break


def _choice_of(lexicon: CompiledLexicon, text: str, reading: str) -> str:
    for choice in text.split("/"):
        pattern = compile_phrase(choice, lexicon.tokeniser)
        if pattern.match(reading) is not None:
            return choice
    return text


def _own_context(lexicon: CompiledLexicon, word: str) -> bool:
    """True when `lexicon` reads `word` as context itself (word as folded for it)."""
    folded = next(iter(lexicon.tokeniser.words(prepare(word))), "")
    reading = f" {folded} "
    context = lexicon.context
    if context.negation_endings and folded.endswith(context.negation_endings):
        return True
    if any(folded.startswith(p) and folded.endswith(s) for p, s in context.negation_shapes):
        return True
    if any(folded == own for kind in WORD_KINDS for own, _ in lexicon.context_words.get(kind, ())):
        return True
    return any(
        phrase.pattern.match(reading) is not None
        for kind in MARKER_KINDS
        for phrase in lexicon.markers.get(kind, ())
    )
