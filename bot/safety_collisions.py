"""Cross-language collisions: a one-word danger phrase that is a common word elsewhere.

Every lexicon reads every message, since people mix languages. So a one-word phrase of
one lexicon must not match an everyday word of another language: "rape*" against the
French "rappel", "agred*" against the English "agreed". This check runs each one-word
phrase against the most frequent words of every other shipped language (from the
`wordfreq` package, which ships its word lists) and reports a collision, unless the
other language's own lexicon flags that word too (a shared word such as "suicide" or
"overdose" means the same in both).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from bot.engine.problems import FlowProblem
from bot.safety_lexicon import SafetyLexicon
from bot.safety_match import CompiledLexicon, combine, prepare

__all__ = ["COMMON_WORDS", "collisions", "common_words"]

# How many of a language's most frequent words are checked: the everyday vocabulary of
# text messages, well past the words a phrase could reach by accident.
COMMON_WORDS = 25_000
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
