"""flows/safety.yaml: helplines, danger categories and the crisis lexicon, validated and compiled.

The file is written by social workers, so its phrase syntax is small (see the top of
flows/safety.yaml): words, `a/b` choices, `*` at a word's start or end, `...` for a few
words in between. A phrase and a message go through the same normalisation — case,
accents and harakat, letter variants, repeated letters, the language's SMS spellings —
so a phrase written once matches "Je veux mourir", "jveux mourrrir" and "JE VEUX MOURIR".

Problems are reported as `file:line: message`, all at once, like flow problems; `relais
flows check` lists them. Matching is precompiled into one regular expression per language
and category, run over the message's words joined by single spaces.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot import paths
from bot.engine.answers import fold, normalise_digits
from bot.engine.problems import FlowError, FlowProblem
from bot.engine.text import placeholders
from bot.engine.yamlmap import KeyPath, compose, line_for, map_lines
from bot.i18n import LANGUAGES
from bot.safety_texts import REPLIES

__all__ = [
    "Category",
    "CompiledLanguage",
    "Helpline",
    "Phrase",
    "SafetyLexicon",
    "check_lexicon",
    "folded",
    "load_lexicon",
    "shipped_lexicon",
]

# How many words `...` may stand for: enough for "je veux vraiment juste mourir", few
# enough that two unrelated halves of a long message do not make a phrase together.
GAP_WORDS = 3
GAP_TOKENS = frozenset({"...", "…"})

# Letters written in more than one way, beyond what `fold` already merges (accents,
# harakat, alef and hamza forms, Arabic/Persian yeh and kaf). Arabic teh marbuta and
# the Persian heh forms are read as heh; Turkish dotless i as i (people without a Turkish
# keyboard type "olmek" for "ölmek", "canima" for "canıma"); Ukrainian and Russian
# spellings of the same sounds as one letter, since many people write a mix of both;
# the soft and hard signs, often left out, are dropped.
_VARIANTS = str.maketrans(
    {
        "\u0629": "\u0647",  # ة → ه
        "\u06d5": "\u0647",  # ە → ه (what fold leaves of ۀ)
        "\u06be": "\u0647",  # ھ → ه
        "\u06c1": "\u0647",  # ہ → ه
        "\u0671": "\u0627",  # ٱ → ا
        "\u0131": "i",  # ı → i
        "\u0456": "\u0438",  # і → и
        "\u044b": "\u0438",  # ы → и
        "\u0454": "\u0435",  # є → е
        "\u044d": "\u0435",  # э → е
        "\u0491": "\u0433",  # ґ → г
        "\u044c": None,  # ь
        "\u044a": None,  # ъ
    }
)
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")
_WORD = re.compile(r"\w+")


def folded(text: str) -> str:
    """The first, language-independent step: fold, ASCII digits, letter variants."""
    return fold(normalise_digits(text)).translate(_VARIANTS)


def _collapse(word: str) -> str:
    # "mourrrir", "mourrir" and "mourir" become one word; the lexicon goes through the
    # same step, so "appelle" in a phrase still matches "appelle" in a message.
    return _REPEATED_LETTER.sub(r"\1", word)


# ------------------------------------------------------------------------------ the file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Helpline(_Strict):
    """A number people can call or text, and when."""

    number: str = Field(pattern=r"^[0-9][0-9 ]*[0-9]$|^[0-9]$")
    for_: str = Field(alias="for", min_length=1)
    sms: bool
    hours: str = "24/7"
    note: str | None = None


class Category(_Strict):
    """A kind of danger, and which helplines its reply gives, in the reply's order."""

    about: str = Field(min_length=1)
    give: list[str] = Field(min_length=1)


class _Language(_Strict):
    apostrophes: Literal["split", "join"] = "split"
    negations: list[str] = Field(default_factory=list)
    join_next: list[str] = Field(default_factory=list)
    spellings: dict[str, str] = Field(default_factory=dict)
    phrases: dict[str, list[str]]
    figurative: list[str] = Field(default_factory=list)

    @field_validator("spellings", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # `ok: 1` or `no: non` would arrive as numbers or booleans: keep them as written.
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class _SafetyFile(_Strict):
    helplines: dict[str, Helpline]
    categories: dict[str, Category] = Field(min_length=1)
    languages: dict[str, _Language]


# ------------------------------------------------------------------- compiled lexicon


@dataclass(frozen=True)
class Phrase:
    """One phrase of the lexicon, as written, where it is written, and its pattern."""

    text: str
    line: int
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class _Tokeniser:
    apostrophes: str
    spellings: Mapping[str, tuple[str, ...]]
    join_next: frozenset[str]

    def words(self, text: str) -> list[str]:
        """Normalised words of a text already passed through `folded`."""
        if self.apostrophes == "join":
            text = text.replace("'", "")
        raw = [_collapse(word) for word in _WORD.findall(text)]
        joined: list[str] = []
        index = 0
        while index < len(raw):
            word = raw[index]
            if word in self.join_next and index + 1 < len(raw):
                # Persian "می خواهم" and "میخواهم" (the ZWNJ already dropped) are one word.
                word += raw[index + 1]
                index += 1
            joined.extend(self.spellings.get(word, (word,)))
            index += 1
        return joined


@dataclass(frozen=True)
class CompiledLanguage:
    """The lexicon of one language, ready to match."""

    code: str
    tokeniser: _Tokeniser
    phrases: Mapping[str, tuple[Phrase, ...]]
    combined: Mapping[str, re.Pattern[str]]
    figurative: re.Pattern[str] | None

    def line(self, folded_text: str) -> str:
        """The message as this language reads it: normalised words between single spaces."""
        return f" {' '.join(self.tokeniser.words(folded_text))} "

    def find(self, category: str, line: str) -> Phrase | None:
        """The first phrase of `category` in `line` that no figurative phrase overlaps."""
        combined = self.combined.get(category)
        if combined is None:
            return None
        spans: list[tuple[int, int]] | None = None
        position = 0
        while (found := combined.search(line, position)) is not None:
            start = found.start()
            if spans is None:
                spans = self._figurative_spans(line)
            for phrase in self.phrases[category]:
                match = phrase.pattern.match(line, start)
                if match is not None and not _overlaps(match, spans):
                    return phrase
            position = start + 1
        return None

    def _figurative_spans(self, line: str) -> list[tuple[int, int]]:
        if self.figurative is None:
            return []
        spans: list[tuple[int, int]] = []
        position = 0
        while (found := self.figurative.search(line, position)) is not None:
            spans.append((found.start() + 1, found.end()))
            position = found.start() + 1
        return spans


def _overlaps(match: re.Match[str], spans: Sequence[tuple[int, int]]) -> bool:
    # Every match starts on the space before its first word: skip it, or two neighbouring
    # phrases would seem to share a character.
    start, end = match.start() + 1, match.end()
    return any(low < end and start < high for low, high in spans)


@dataclass(frozen=True)
class SafetyLexicon:
    """Helplines, categories (most urgent first) and the compiled lexicon of each language."""

    file: str
    helplines: Mapping[str, Helpline]
    categories: Mapping[str, Category]
    languages: Mapping[str, CompiledLanguage]

    def numbers(self, category: str) -> dict[str, str]:
        """The numbers a category's reply gives, by helpline name (its placeholders)."""
        return {name: self.helplines[name].number for name in self.categories[category].give}


# --------------------------------------------------------------------------- loading


def load_lexicon(path: Path) -> SafetyLexicon:
    """Read, validate and compile a safety file; raise FlowError listing every problem."""
    problems: list[FlowProblem] = []
    lexicon = _load(path, problems)
    if lexicon is None or problems:
        raise FlowError(problems or [FlowProblem(str(path), 0, "cannot be loaded")])
    return lexicon


def check_lexicon(path: Path) -> list[FlowProblem]:
    """Every problem of a safety file, for `relais flows check`; empty when it is fine."""
    problems: list[FlowProblem] = []
    _load(path, problems)
    return sorted(set(problems))


@functools.cache
def shipped_lexicon() -> SafetyLexicon:
    """The shipped flows/safety.yaml, loaded once per process."""
    return load_lexicon(paths.flows_dir() / "safety.yaml")


def _load(path: Path, problems: list[FlowProblem]) -> SafetyLexicon | None:
    file = str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(FlowProblem(file, 0, f"cannot read: {error}"))
        return None
    count = len(problems)
    node = compose(source, file, problems)
    if node is None:
        # YAML reads "- *word" as a reference to something else: the commonest slip.
        problems[count:] = [_with_quote_hint(problem) for problem in problems[count:]]
        return None
    lines = map_lines(node, file, problems)
    data = yaml.constructor.SafeConstructor().construct_document(node)
    try:
        parsed = _SafetyFile.model_validate(data)
    except ValidationError as error:
        problems.extend(_validation_problems(error, file, lines))
        return None
    count = len(problems)
    _check_categories(parsed, file, lines, problems)
    languages = {}
    for code, language in parsed.languages.items():
        where = ("languages", code)
        if code not in LANGUAGES:
            problems.append(
                FlowProblem(file, line_for(lines, where), f"{code!r} is not a shipped language")
            )
            continue
        languages[code] = _compile_language(code, language, parsed, file, lines, problems)
    for code in LANGUAGES:
        if code not in parsed.languages:
            problems.append(
                FlowProblem(file, line_for(lines, ("languages",)), f"no lexicon for {code!r}")
            )
    if len(problems) > count:
        return None
    return SafetyLexicon(file, parsed.helplines, parsed.categories, languages)


def _with_quote_hint(problem: FlowProblem) -> FlowProblem:
    if "alias" not in problem.message:
        return problem
    hint = "; a phrase that starts with * must be in quotes: - '*word'"
    return FlowProblem(problem.file, problem.line, problem.message + hint)


def _check_categories(
    parsed: _SafetyFile, file: str, lines: Mapping[KeyPath, int], problems: list[FlowProblem]
) -> None:
    for name, category in parsed.categories.items():
        where = ("categories", name)
        reply = REPLIES.get(name)
        if reply is None:
            known = ", ".join(REPLIES)
            problems.append(
                FlowProblem(
                    file,
                    line_for(lines, where),
                    f"category {name!r} has no reply text in bot/safety_texts.py ({known})",
                )
            )
            continue
        for index, helpline in enumerate(category.give):
            if helpline not in parsed.helplines:
                problems.append(
                    FlowProblem(
                        file,
                        line_for(lines, (*where, "give", index)),
                        f"category {name!r}: no helpline {helpline!r} in helplines",
                    )
                )
        # The reply is translated text with a placeholder per number: the category must
        # give exactly the numbers its reply mentions, or a number would go missing.
        expected = placeholders(reply)
        if set(category.give) != expected:
            wanted = ", ".join(sorted(expected))
            problems.append(
                FlowProblem(
                    file,
                    line_for(lines, (*where, "give")),
                    f"category {name!r} must give the helplines its reply names: {wanted}",
                )
            )


def _compile_language(
    code: str,
    language: _Language,
    parsed: _SafetyFile,
    file: str,
    lines: Mapping[KeyPath, int],
    problems: list[FlowProblem],
) -> CompiledLanguage:
    base: KeyPath = ("languages", code)
    plain = _Tokeniser(language.apostrophes, {}, frozenset())
    joins = frozenset(word for raw in language.join_next for word in plain.words(folded(raw)))
    unjoined = _Tokeniser(language.apostrophes, {}, joins)
    spellings: dict[str, tuple[str, ...]] = {}
    for written, meant in language.spellings.items():
        source = unjoined.words(folded(written))
        target = tuple(unjoined.words(folded(meant)))
        if len(source) != 1 or not target:
            line = line_for(lines, (*base, "spellings", written))
            problems.append(
                FlowProblem(file, line, f"spelling {written!r}: one word, spelt as some words")
            )
            continue
        spellings[source[0]] = target
    tokeniser = _Tokeniser(language.apostrophes, spellings, joins)
    negations = [word for raw in language.negations for word in tokeniser.words(folded(raw))]
    compiled: dict[str, tuple[Phrase, ...]] = {}
    for category, listed in language.phrases.items():
        where = (*base, "phrases", category)
        if category not in parsed.categories:
            problems.append(
                FlowProblem(file, line_for(lines, where), f"unknown category {category!r}")
            )
            continue
        compiled[category] = tuple(
            _phrases(listed, tokeniser, negations, file, lines, where, problems)
        )
    for category in parsed.categories:
        if not compiled.get(category):
            problems.append(
                FlowProblem(
                    file,
                    line_for(lines, (*base, "phrases")),
                    f"{code}: no phrases for category {category!r}",
                )
            )
    figurative = tuple(
        _phrases(
            language.figurative, tokeniser, negations, file, lines, (*base, "figurative"), problems
        )
    )
    return CompiledLanguage(
        code=code,
        tokeniser=tokeniser,
        phrases=compiled,
        combined={name: _combine(found) for name, found in compiled.items() if found},
        figurative=_combine(figurative) if figurative else None,
    )


def _phrases(
    written: Sequence[str],
    tokeniser: _Tokeniser,
    negations: Sequence[str],
    file: str,
    lines: Mapping[KeyPath, int],
    where: KeyPath,
    problems: list[FlowProblem],
) -> Iterator[Phrase]:
    for index, text in enumerate(written):
        line = line_for(lines, (*where, index))
        try:
            pattern = compile_phrase(text, tokeniser, negations)
        except ValueError as error:
            problems.append(FlowProblem(file, line, f"phrase {text!r}: {error}"))
            continue
        yield Phrase(text, line, pattern)


def _combine(phrases: Sequence[Phrase]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{phrase.pattern.pattern})" for phrase in phrases))


# ------------------------------------------------------------------------- phrase syntax


def compile_phrase(
    text: str, tokeniser: _Tokeniser, negations: Sequence[str] = ()
) -> re.Pattern[str]:
    """The regular expression of one phrase, over a line of words between single spaces.

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
        choices = [_choice(choice, word, tokeniser) for choice in word.split("/")]
        parts.append(f" (?:{'|'.join(choices)})")
    return re.compile("".join(parts) + "(?= )")


def _choice(choice: str, word: str, tokeniser: _Tokeniser) -> str:
    leading, trailing = choice.startswith("*"), choice.endswith("*") and len(choice) > 1
    core = choice.strip("*")
    if "*" in core:
        raise ValueError(f"'*' only at the start or the end of a word ({word!r})")
    words = tokeniser.words(folded(core))
    if not words:
        raise ValueError(f"{choice!r} in {word!r} has no letters or digits")
    pattern = " ".join(re.escape(part) for part in words)
    return ("\\S*" if leading else "") + pattern + ("\\S*" if trailing else "")


def _gap(negations: Sequence[str]) -> str:
    # A gap never skips a negation: "je veux ... mourir" is not "je veux pas mourir".
    if not negations:
        return f"(?: \\S+){{0,{GAP_WORDS}}}"
    refused = "|".join(re.escape(word) for word in sorted(set(negations)))
    return f"(?: (?!(?:{refused}) )\\S+){{0,{GAP_WORDS}}}"


def _validation_problems(
    error: ValidationError, file: str, lines: Mapping[KeyPath, int]
) -> Iterator[FlowProblem]:
    for detail in error.errors():
        location = tuple(detail["loc"])
        where = ".".join(str(part) for part in location)
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = f"unknown key {where!r}"
        elif kind == "missing":
            message = f"missing key {where!r}"
        else:
            message = f"{where}: {detail['msg']}" if where else detail["msg"]
        yield FlowProblem(file, line_for(lines, location), message)
