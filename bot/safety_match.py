"""Matching one lexicon of flows/safety/ against a message: words, phrases and their context.

A message and a phrase go through the same steps (bot/engine/normalise.py, then the
lexicon's apostrophes, `join_next` and `spellings`), so a phrase written once matches
every way of typing it. A message becomes a *line*: its words between single spaces, with
`|` where a clause ends. Phrases are compiled to regular expressions over that line that
match whole words only: `*` extends one word and never crosses a space or a clause.

A phrase found in the line counts unless its context says otherwise (see `Context`):
a denial just before or after it, or a clause right after it that only says no; a past
or media marker in its sentence, or a next sentence that is nothing but one; a figurative
phrase overlapping it; for a bare cry for help, an everyday errand it is about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.engine.normalise import fold, normalise_digits, stretched_readings

__all__ = [
    "ALONE_WORDS",
    "BREAK",
    "GAP_WORDS",
    "STOP",
    "CompiledLexicon",
    "Context",
    "Found",
    "Phrase",
    "Starts",
    "Tokeniser",
    "bare_clause",
    "compile_phrase",
    "first_words",
    "prepare",
    "written_words",
]

# How many words `...` may stand for: enough for "je veux vraiment juste mourir", few
# enough that two unrelated halves of a long message do not make a phrase together.
GAP_WORDS = 3
GAP_TOKENS = frozenset({"...", "…"})
# How far a denial reaches: "je ne suis pas du tout suicidaire" (3 words before), but not
# "can't stop thinking about killing myself" (4).
DENIAL_WORDS = 3
# A sentence that is nothing but a past or media marker speaks of the sentence before it
# ("Il me frappait. C'était il y a longtemps."): at most this many words besides the marker.
ALONE_WORDS = 3
BREAK = "|"
# Where a sentence ends (". ! ? ;" or a new line, see `prepare`): a past or media marker
# counts for its whole sentence ("je me scarifiais au collège, ça fait 6 ans que j'ai arrêté").
STOP = "||"
YEAR_WORD = "year_"

_TOKEN = re.compile(r"\w+|\.{2,}|[.!?;,…،؛؟]")
_STOPS = frozenset(".!?;؛؟")
# Dots that trail off ("je sais plus... j'ai envie") are a pause, not the end of a clause.
_PAUSES = frozenset({"…"})
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_NOT_A_WORD = f"[^ {re.escape(BREAK)}]"


def prepare(text: str) -> str:
    """The language-independent step: ASCII digits and `fold` (bot/engine/normalise.py).

    A new line ends a sentence, as a full stop does (`fold` would make it a space).
    """
    return fold(normalise_digits(text.replace("\n", " . ")))


@dataclass(frozen=True)
class Tokeniser:
    """How one lexicon splits folded text into words."""

    apostrophes: str
    spellings: Mapping[str, tuple[str, ...]]
    join_next: frozenset[str]
    clause_breaks: frozenset[str]

    def readings(self, folded_text: str) -> list[list[str]]:
        """The words of a text, once per reading of stretched letters ("killll": kil, kill)."""
        stretched = _stretched_words(folded_text, self.apostrophes == "join")
        if all(len(choices) == 1 for choices in stretched):
            return [self._words([choices[0] for choices in stretched])]
        return [
            self._words([choices[0] for choices in stretched]),
            self._words([choices[-1] for choices in stretched]),
        ]

    def words(self, folded_text: str) -> list[str]:
        """The first reading's words (what a phrase of the lexicon is made of)."""
        return self.readings(folded_text)[0]

    def _words(self, raw: list[str]) -> list[str]:
        joined: list[str] = []
        index = 0
        while index < len(raw):
            word = raw[index]
            if not word[0].isalnum() and word[0] != "_":
                if word in _STOPS and joined and joined[-1] in (BREAK, STOP):
                    joined[-1] = STOP
                elif word in _STOPS and joined:
                    joined.append(STOP)
                elif (
                    word not in _PAUSES
                    and not word.startswith("..")
                    and joined
                    and joined[-1] not in (BREAK, STOP)
                ):
                    joined.append(BREAK)
                index += 1
                continue
            if word in self.join_next and index + 1 < len(raw) and raw[index + 1][0].isalnum():
                # Persian "می خواهم" and "میخواهم" (the ZWNJ already dropped) are one word.
                word += raw[index + 1]
                index += 1
            if word in self.clause_breaks:
                if joined and joined[-1] not in (BREAK, STOP):
                    joined.append(BREAK)
            else:
                joined.extend(self.spellings.get(word, (word,)))
            index += 1
        return joined


@lru_cache(maxsize=16)
def _stretched_words(folded_text: str, join_apostrophes: bool) -> tuple[tuple[str, ...], ...]:
    # Every lexicon of a scan splits the same text: split it once per apostrophe rule.
    if join_apostrophes:
        folded_text = folded_text.replace("'", "")
    return tuple(stretched_readings(_year_or(word)) for word in _TOKEN.findall(folded_text))


def _year_or(word: str) -> str:
    return YEAR_WORD if _YEAR.match(word) else word


@dataclass(frozen=True)
class Phrase:
    """One phrase of a lexicon: as written, where, its situation and its pattern."""

    text: str
    line: int
    situation: str
    pattern: re.Pattern[str]
    # The words written out in the phrase (not reached by `*`): a negation among them makes
    # the phrase a statement ("ne veux plus vivre"); a negation reached by `*` denies it
    # (the Darija "ماكيضربنيش", he does not hit me, against "*ضربن*").
    written: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Found:
    """A phrase found in a line, with the situation it reveals."""

    phrase: Phrase
    start: int
    end: int


@dataclass(frozen=True)
class Context:
    """What makes a found phrase not count, for one lexicon.

    Each kind of context has its reach: a denial, the 3 words before the phrase in its
    clause (or after it, for `negations_after`), or a clause right after it that says
    nothing but no ("suicidaire ? pas du tout"); a past or media marker, the phrase's
    sentence and a next sentence that is nothing but a marker ("Il me frappait. C'était
    il y a 10 ans."), and for media a previous one too ("Lu dans le journal : ..."); a
    figure, the phrase itself; an errand, the sentence of a bare cry for help and the next.
    """

    negations: frozenset[str]
    negations_after: frozenset[str]
    past: re.Pattern[str] | None
    media: re.Pattern[str] | None
    figurative: re.Pattern[str] | None
    # Endings that make a word a denial: Turkish puts the negation inside the verb
    # ("istemiyorum", I do not want). Written "*miyorum" in a lexicon's negations.
    negation_endings: tuple[str, ...] = ()
    # A whole clause that says no (`bare_clause` of the lexicon's `denials`).
    denials: re.Pattern[str] | None = None
    # Everyday errands ("ce formulaire", "this form"): a bare cry for help about one of
    # them asks for help with paperwork, not for rescue.
    errands: re.Pattern[str] | None = None
    # A negation around the word: Darija "ما...ش" ("ماكيضربنيش", he does not hit me).
    # Written "ما*ش" in a lexicon's negations; at least two letters between.
    negation_shapes: tuple[tuple[str, str], ...] = ()

    def denies(self, word: str) -> bool:
        """True when `word` is a negation of this lexicon."""
        return (
            word in self.negations
            or (bool(self.negation_endings) and word.endswith(self.negation_endings))
            or any(
                word.startswith(prefix)
                and word.endswith(suffix)
                and len(word) >= len(prefix) + len(suffix) + 2
                for prefix, suffix in self.negation_shapes
            )
        )

    def allows(
        self,
        line: str,
        start: int,
        end: int,
        bare_cry: bool = False,
        written: frozenset[str] | None = None,
    ) -> bool:
        """True when the phrase at line[start:end] is meant: not denied, past, media or a figure.

        `bare_cry`: the phrase is a cry for help with little else ("au secours"), which an
        errand in its sentence or the next one turns into a request for help with it.
        `written`: the phrase's written words (`Phrase.written`); a negation the phrase
        reached otherwise (by `*`, or in a gap) denies it.
        """
        before = line[:start].split()
        after = line[end:].split()
        span = line[start:end].split()
        clause_before = _after_last(before, (BREAK, STOP))
        clause_after = _before_first(after, (BREAK, STOP))
        denied = [word for word in span if self.denies(word)]
        if written is not None and any(word not in written for word in denied):
            return False
        inherent = bool(denied)
        if not inherent and any(self.denies(word) for word in clause_before[-DENIAL_WORDS:]):
            return False
        if any(word in self.negations_after for word in clause_after[:DENIAL_WORDS]):
            return False
        if not inherent and self._answered_no(clause_after, after):
            return False
        sentence = [*_after_last(before, (STOP,)), *span, *_before_first(after, (STOP,))]
        following = _next_sentence(after)
        if self._marked(sentence) or self._marked_alone(following, (self.past, self.media)):
            return False
        if self._marked_alone(_previous_sentence(before), (self.media,)):
            return False
        if bare_cry and self._names_errand([*sentence, *following]):
            return False
        return self.figurative is None or not _overlaps_figure(self.figurative, line, start, end)

    def _answered_no(self, clause_after: list[str], after: list[str]) -> bool:
        # "suicidaire : pas du tout", "me tuer ? jamais": the rest of the phrase's clause,
        # or the clause right after it, says nothing but no.
        if self.denials is None:
            return False
        if clause_after and _says_only(self.denials, clause_after):
            return True
        following = _next_clause(after)
        return bool(following) and _says_only(self.denials, following)

    def _names_errand(self, words: list[str]) -> bool:
        return self.errands is not None and self.errands.search(f" {' '.join(words)} ") is not None

    def _marked(self, words: list[str]) -> bool:
        text = f" {' '.join(words)} "
        return any(
            marker is not None and marker.search(text) is not None
            for marker in (self.past, self.media)
        )

    def _marked_alone(self, words: list[str], markers: tuple[re.Pattern[str] | None, ...]) -> bool:
        # "C'était il y a longtemps.", "That was years ago.", "Lu dans le journal :": a
        # sentence that is a marker and at most ALONE_WORDS other words.
        if not words:
            return False
        text = f" {' '.join(words)} "
        marked = sum(
            len(found.group().split())
            for marker in markers
            if marker is not None
            for found in marker.finditer(text)
        )
        return marked > 0 and len(words) - marked <= ALONE_WORDS


def bare_clause(patterns: Sequence[re.Pattern[str]]) -> re.Pattern[str] | None:
    """A pattern that matches a whole clause made of `patterns` only ("non, jamais")."""
    if not patterns:
        return None
    return re.compile(f"(?:{'|'.join(f'(?:{p.pattern})' for p in patterns)})+ ")


def _says_only(pattern: re.Pattern[str], words: list[str]) -> bool:
    return pattern.fullmatch(f" {' '.join(words)} ") is not None


def _next_clause(after: list[str]) -> list[str]:
    for index, word in enumerate(after):
        if word in (BREAK, STOP):
            return _before_first(after[index + 1 :], (BREAK, STOP))
    return []


def _previous_sentence(before: list[str]) -> list[str]:
    for index in range(len(before) - 1, -1, -1):
        if before[index] == STOP:
            return _after_last(before[:index], (STOP,))
    return []


def _next_sentence(after: list[str]) -> list[str]:
    for index, word in enumerate(after):
        if word == STOP:
            return _before_first(after[index + 1 :], (STOP,))
    return []


def _after_last(words: list[str], marks: tuple[str, ...]) -> list[str]:
    for index in range(len(words) - 1, -1, -1):
        if words[index] in marks:
            return words[index + 1 :]
    return words


def _before_first(words: list[str], marks: tuple[str, ...]) -> list[str]:
    for index, word in enumerate(words):
        if word in marks:
            return words[:index]
    return words


def _overlaps_figure(figurative: re.Pattern[str], line: str, start: int, end: int) -> bool:
    # Every match starts on the space before its first word: skip it, or two neighbouring
    # phrases would seem to share a character.
    position = 0
    while (found := figurative.search(line, position)) is not None:
        if found.start() + 1 < end and start + 1 < found.end():
            return True
        position = found.start() + 1
    return False


@dataclass(frozen=True)
class CompiledLexicon:
    """One lexicon of flows/safety/, ready to match."""

    code: str
    reply: str
    script: str
    file: str
    situations_line: int
    tokeniser: Tokeniser
    context: Context
    # Per category of flows/safety.yaml: its phrases, and one pattern for all of them.
    phrases: Mapping[str, tuple[Phrase, ...]]
    combined: Mapping[str, re.Pattern[str]]
    starts: Starts
    # The lexicon's own context, as written, for sharing it with the lexicons of its
    # script (bot/safety_lexicon.py): phrases by kind (past, media, figurative, denials),
    # and words with their lines (negations, negations_after).
    markers: Mapping[str, tuple[Phrase, ...]] = field(default_factory=dict)
    context_words: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    # Everyday words of this language that another lexicon's context does not count in
    # it ("ne" is Turkish for "what", "news" English for any news).
    everyday: frozenset[str] = frozenset()

    def lines(self, folded_text: str) -> list[tuple[str, list[int]]]:
        """The message as this lexicon reads it, once per reading: the line (words between
        single spaces, `|` between clauses) and where a phrase may begin in it."""
        lines = [f" {' '.join(words)} " for words in self.tokeniser.readings(folded_text)]
        return [(line, self.starts.positions(line)) for line in lines]

    def find(
        self, category: str, lines: Sequence[tuple[str, list[int]]], bare_cry: bool = False
    ) -> Found | None:
        """The first phrase of `category` in any reading of the message that its context allows.

        `bare_cry`: the category is a cry for help with little else (see `Context.allows`).
        """
        combined = self.combined.get(category)
        if combined is None:
            return None
        for line, positions in lines:
            for start in positions:
                if combined.match(line, start) is None:
                    continue
                for phrase in self.phrases[category]:
                    match = phrase.pattern.match(line, start)
                    if match is not None and self.context.allows(
                        line, start, match.end(), bare_cry, phrase.written
                    ):
                        return Found(phrase, start, match.end())
        return None


# ------------------------------------------------------------------------- phrase syntax


def compile_phrase(
    text: str,
    tokeniser: Tokeniser,
    negations: Sequence[str] = (),
    proclitics: Sequence[str] = (),
    excluded: frozenset[str] = frozenset(),
) -> re.Pattern[str]:
    """The regular expression of one phrase, over a line of words between single spaces.

    `excluded`: words that a one-word choice of the phrase never matches (the everyday
    words of the language reading it, see `everyday_words` in bot/safety_lexicon.py).
    Raise ValueError, with a reason a social worker can act on, for a phrase that cannot be
    matched as written.
    """
    written = text.split()
    if not written:
        raise ValueError("empty phrase")
    if written[0] in GAP_TOKENS or written[-1] in GAP_TOKENS:
        raise ValueError("'...' goes between two words, not at the start or the end")
    parts: list[str] = []
    previous_gap = False
    for word in written:
        if word in GAP_TOKENS:
            if previous_gap:
                raise ValueError("two '...' in a row")
            parts.append(_gap(negations))
            previous_gap = True
            continue
        previous_gap = False
        choices = [
            _choice(choice, word, tokeniser, proclitics, excluded)
            for choice in word.split("/")
            if not (excluded and _is_excluded(choice, word, tokeniser, excluded))
        ]
        if not choices:
            # Every choice is an everyday word of the reading language: never matches.
            choices = ["(?!)"]
        parts.append(f" (?:{'|'.join(choices)})")
    return re.compile("".join(parts) + "(?= )")


def _choice(
    choice: str,
    word: str,
    tokeniser: Tokeniser,
    proclitics: Sequence[str],
    excluded: frozenset[str] = frozenset(),
) -> str:
    parts = _choice_words(choice, word, tokeniser)
    if parts is None:
        return re.escape(YEAR_WORD)
    words, leading, trailing = parts
    pattern = " ".join(re.escape(part) for part in words)
    prefix = f"{_NOT_A_WORD}*" if leading else ""
    if not leading and proclitics:
        # Arabic writes "and", "so" fused to the next word: وبغيت is و + بغيت.
        prefix = f"(?:{'|'.join(re.escape(p) for p in proclitics)})?"
    if excluded and len(words) == 1 and (leading or trailing):
        # A `*` choice ("serial*") may reach an everyday word ("serial"): refuse those.
        never = "|".join(re.escape(other) for other in sorted(excluded))
        prefix = f"(?!(?:{never}) )" + prefix
    return prefix + pattern + (f"{_NOT_A_WORD}*" if trailing else "")


def _is_excluded(choice: str, word: str, tokeniser: Tokeniser, excluded: frozenset[str]) -> bool:
    # A choice that is exactly one everyday word is left out of the pattern (faster than
    # refusing it at every position).
    parts = _choice_words(choice, word, tokeniser)
    if parts is None:
        return False
    words, leading, trailing = parts
    return not (leading or trailing) and len(words) == 1 and words[0] in excluded


def _choice_words(
    choice: str, word: str, tokeniser: Tokeniser
) -> tuple[list[str], bool, bool] | None:
    """One alternative of a written word: its words, and whether `*` opens or ends it.

    None for `YEAR`, which stands for any year.
    """
    leading, trailing = choice.startswith("*"), choice.endswith("*") and len(choice) > 1
    core = choice.strip("*")
    if "*" in core:
        raise ValueError(f"'*' only at the start or the end of a word ({word!r})")
    if core == "YEAR":
        return None
    folded = prepare(core.replace("-", " "))
    words = tokeniser.words(folded)
    if BREAK in words or any(part in tokeniser.clause_breaks for part in folded.split()):
        raise ValueError(
            f"{choice!r} is in clause_breaks: a phrase never spans two clauses, so it "
            "cannot hold one"
        )
    if not words:
        raise ValueError(f"{choice!r} in {word!r} has no letters or digits")
    return words, leading, trailing


def _gap(negations: Sequence[str]) -> str:
    # A gap never skips a negation ("je veux pas mourir" is not "je veux ... mourir", nor
    # "ölmek istemiyorum iş istiyorum" "ölmek ... istiyorum") and never crosses into
    # another clause.
    word = f"{_NOT_A_WORD}+"
    if not negations:
        return f"(?: {word}){{0,{GAP_WORDS}}}"
    refused = [re.escape(n) for n in sorted(set(negations)) if "*" not in n]
    refused += [
        f"{re.escape(prefix)}{_NOT_A_WORD}{'*' if not prefix else '{2,}'}{re.escape(suffix)}"
        for prefix, suffix in (n.split("*", 1) for n in sorted(set(negations)) if "*" in n)
    ]
    return f"(?: (?!(?:{'|'.join(refused)}) ){word}){{0,{GAP_WORDS}}}"


def written_words(
    text: str, tokeniser: Tokeniser, proclitics: Sequence[str] = ()
) -> frozenset[str]:
    """The words a phrase writes out: those of its choices without `*` (see `Phrase.written`),
    with the proclitics a choice may take ("وما" for "ما").

    The phrase must already compile (`compile_phrase`).
    """
    found: set[str] = set()
    for word in text.split():
        if word in GAP_TOKENS:
            continue
        for choice in word.split("/"):
            parts = _choice_words(choice, word, tokeniser)
            if parts is not None and not (parts[1] or parts[2]):
                found.update(parts[0])
                found.update(proclitic + parts[0][0] for proclitic in proclitics)
    return frozenset(found)


def first_words(text: str, tokeniser: Tokeniser) -> list[tuple[str, bool, bool]]:
    """The words a phrase may begin with: (word, `*` before it, `*` after it).

    The phrase must already compile (`compile_phrase`); `YEAR` begins with the year word.
    """
    written = text.split()[0]
    starts = []
    for choice in written.split("/"):
        parts = _choice_words(choice, written, tokeniser)
        if parts is None:
            starts.append((YEAR_WORD, False, False))
            continue
        words, leading, trailing = parts
        starts.append((words[0], leading, trailing and len(words) == 1))
    return starts


@dataclass(frozen=True)
class Starts:
    """Which words may begin some phrase of a lexicon.

    Running every pattern at every word of every message is most of a scan's cost; a word
    that begins no phrase is skipped with a set lookup instead.
    """

    exact: frozenset[str]
    prefixes: re.Pattern[str] | None
    inside: tuple[str, ...]
    proclitics: tuple[str, ...]

    @classmethod
    def of(cls, starts: Sequence[tuple[str, bool, bool]], proclitics: Sequence[str]) -> Starts:
        exact = frozenset(word for word, leading, trailing in starts if not (leading or trailing))
        prefixes = sorted({word for word, leading, trailing in starts if trailing and not leading})
        inside = tuple(sorted({word for word, leading, _ in starts if leading}))
        pattern = "|".join(re.escape(word) for word in prefixes)
        return cls(exact, re.compile(pattern) if pattern else None, inside, tuple(proclitics))

    def begins(self, word: str) -> bool:
        """True when some phrase may begin with `word` (or with it after a proclitic)."""
        if self._begins(word):
            return True
        return any(
            word.startswith(proclitic) and self._begins(word[len(proclitic) :])
            for proclitic in self.proclitics
        )

    def _begins(self, word: str) -> bool:
        if word in self.exact:
            return True
        if self.prefixes is not None and self.prefixes.match(word) is not None:
            return True
        return any(part in word for part in self.inside)

    def positions(self, line: str) -> list[int]:
        """Where a phrase may match in a line: the offset of the space before each such word."""
        found = []
        position = 0
        for word in line[1:-1].split(" "):
            if word not in (BREAK, STOP) and self.begins(word):
                found.append(position)
            position += len(word) + 1
        return found


def combine(patterns: Sequence[re.Pattern[str]]) -> re.Pattern[str]:
    """One pattern that finds where any of `patterns` may match."""
    return re.compile("|".join(f"(?:{pattern.pattern})" for pattern in patterns))
