"""flows/safety.yaml and flows/safety/*.yaml: helplines, categories, situations, lexicons.

flows/safety.yaml is the table every lexicon fills in: helplines, the categories (each
with its reply's numbers and its level, danger or concern) and the situations (each in a
category). flows/safety/<code>.yaml is one lexicon: the words of one language or way of
writing (the shipped languages, Russian, Arabic/Dari/Russian in Latin letters), one list
of phrases per situation, and its context words (see bot/safety_match.py).

Problems are reported as `file:line: message`, all at once, like flow problems; `relais
flows check` lists them, with the cross-language collisions of bot/safety_collisions.py.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot import paths
from bot.engine.problems import FlowError, FlowProblem
from bot.engine.text import placeholders
from bot.engine.yamlmap import KeyPath, compose, line_for, map_lines
from bot.i18n import LANGUAGES
from bot.safety_match import (
    GAP_TOKENS,
    CompiledLexicon,
    Context,
    Phrase,
    Starts,
    Tokeniser,
    bare_clause,
    combine,
    compile_phrase,
    first_words,
    prepare,
    written_words,
)
from bot.safety_model import MODEL_FILE, SafetyModel, load_model
from bot.safety_texts import REPLIES

__all__ = [
    "Category",
    "Helpline",
    "Laughter",
    "SafetyLexicon",
    "check_lexicon",
    "load_lexicon",
    "shipped_lexicon",
]

LEXICON_DIR = "safety"


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
    """What a kind of danger gets: its level, and the helplines its reply gives, in order."""

    about: str = Field(min_length=1)
    level: Literal["danger", "concern"]
    give: list[str] = Field(min_length=1)
    # A bare cry for help next to laughter ("socorro kkk", "au secours mdr") is a joke. The
    # categories marked so are bare cries: one about an errand of the lexicon (`errands`:
    # "au secours, ce formulaire") asks for help with it, and does not count either.
    laughter_cancels: bool = False


class Situation(_Strict):
    """One row of the situation table, which every lexicon fills in."""

    category: str
    about: str = Field(min_length=1)


class _SafetyFile(_Strict):
    helplines: dict[str, Helpline]
    laughter: list[str] = Field(default_factory=list)
    categories: dict[str, Category] = Field(min_length=1)
    situations: dict[str, Situation] = Field(min_length=1)


class _LexiconFile(_Strict):
    language: str = Field(min_length=1)
    reply: str
    script: Literal["latin", "arabic", "cyrillic"]
    apostrophes: Literal["split", "join"] = "split"
    negations: list[str] = Field(default_factory=list)
    negations_after: list[str] = Field(default_factory=list)
    clause_breaks: list[str] = Field(default_factory=list)
    proclitics: list[str] = Field(default_factory=list)
    join_next: list[str] = Field(default_factory=list)
    spellings: dict[str, str] = Field(default_factory=dict)
    past: list[str] = Field(default_factory=list)
    media: list[str] = Field(default_factory=list)
    figurative: list[str] = Field(default_factory=list)
    denials: list[str] = Field(default_factory=list)
    errands: list[str] = Field(default_factory=list)
    everyday_words: list[str] = Field(default_factory=list)
    situations: dict[str, list[str]]

    @field_validator("spellings", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # `ok: 1` or `no: non` would arrive as numbers or booleans: keep them as written.
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator(
        "negations", "negations_after", "clause_breaks", "everyday_words", "denials", mode="before"
    )
    @classmethod
    def _words_as_text(cls, value: Any) -> Any:
        # "no" and "non" are booleans to YAML 1.1.
        if isinstance(value, list):
            return [_yaml_word(item) for item in value]
        return value


def _yaml_word(item: Any) -> Any:
    if isinstance(item, bool):
        return "yes" if item else "no"
    return item


@dataclass(frozen=True)
class Laughter:
    """Signs that a message laughs: a word ("mdr", "kkk", "ههه") or a sign ("😂", ":)")."""

    words: tuple[str, ...] = ()
    signs: tuple[str, ...] = ()

    @classmethod
    def of(cls, written: Sequence[str]) -> Laughter:
        folded = [(item, prepare(item)) for item in written]
        return cls(
            tuple(word for _, word in folded if word.isalnum()),
            tuple(item for item, word in folded if not word.isalnum()),
        )

    def found(self, text: str, words: Sequence[str]) -> bool:
        """True when `text`, or one of its folded `words`, laughs.

        A word laughs when it begins with a listed word and has no other letters:
        "hahahaha", "kkkkk", "mdrrr".
        """
        if any(sign in text for sign in self.signs):
            return True
        return any(
            word.startswith(laugh) and set(word) <= set(laugh)
            for word in words
            for laugh in self.words
        )


@dataclass(frozen=True)
class SafetyLexicon:
    """Helplines, categories (most urgent first), situations and every compiled lexicon."""

    file: str
    helplines: Mapping[str, Helpline]
    categories: Mapping[str, Category]
    situations: Mapping[str, Situation]
    lexicons: Mapping[str, CompiledLexicon]
    laughter: Laughter = Laughter()
    # flows/safety/model.json: reads what no lexicon found (bot/safety_model.py).
    model: SafetyModel | None = None

    def numbers(self, category: str) -> dict[str, str]:
        """The numbers a category's reply gives, by helpline name (its placeholders)."""
        return {name: self.helplines[name].number for name in self.categories[category].give}


def load_lexicon(path: Path) -> SafetyLexicon:
    """Read, validate and compile flows/safety.yaml and its lexicons; raise FlowError."""
    problems: list[FlowProblem] = []
    lexicon = _load(path, problems)
    if lexicon is None or problems:
        raise FlowError(problems or [FlowProblem(str(path), 0, "cannot be loaded")])
    return lexicon


def check_lexicon(path: Path) -> list[FlowProblem]:
    """Every problem of the safety files, collisions included; empty when all is fine."""
    from bot.safety_collisions import collisions, context_collisions

    problems: list[FlowProblem] = []
    lexicon = _load(path, problems)
    if lexicon is not None and not problems:
        problems.extend(incomplete(lexicon))
        problems.extend(numbers_only(lexicon))
        problems.extend(collisions(lexicon))
        problems.extend(context_collisions(lexicon))
    return sorted(set(problems))


def incomplete(lexicon: SafetyLexicon) -> Iterator[FlowProblem]:
    """A problem for each situation a lexicon has no phrase for.

    Not a reason to refuse to start (the other situations still protect people), but
    `relais flows check` fails on it: every situation is found in every language.
    """
    for compiled in lexicon.lexicons.values():
        covered = {p.situation for phrases in compiled.phrases.values() for p in phrases}
        for situation in lexicon.situations:
            if situation not in covered:
                yield FlowProblem(
                    compiled.file,
                    compiled.situations_line,
                    f"{compiled.code}: no phrases for situation {situation!r}",
                )


def numbers_only(lexicon: SafetyLexicon) -> Iterator[FlowProblem]:
    """A problem for each phrase made of numbers only.

    "115" is the shelter line, and also "115 rue de Paris", "j'habite au 115", a price, a
    bus: a number says what it is only next to a word ("appelé le 115", "115 ... plein").
    """
    for compiled in lexicon.lexicons.values():
        for phrases in compiled.phrases.values():
            for phrase in phrases:
                if _is_numbers(phrase.text):
                    yield FlowProblem(
                        compiled.file,
                        phrase.line,
                        f"phrase {phrase.text!r} is only numbers, which are also addresses, "
                        "prices and times: give it a word (a call, a shelter, a place)",
                    )


def _is_numbers(text: str) -> bool:
    return all(
        choice.strip("*").replace("-", "").isdigit() or choice == "YEAR"
        for word in text.split()
        if word not in GAP_TOKENS
        for choice in word.split("/")
    )


@functools.cache
def shipped_lexicon() -> SafetyLexicon:
    """The shipped flows/safety.yaml and flows/safety/, loaded once per process."""
    return load_lexicon(paths.flows_dir() / "safety.yaml")


def _read(path: Path, problems: list[FlowProblem]) -> tuple[Any, Mapping[KeyPath, int]] | None:
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
    return yaml.constructor.SafeConstructor().construct_document(node), lines


def _load(path: Path, problems: list[FlowProblem]) -> SafetyLexicon | None:
    file = str(path)
    read = _read(path, problems)
    if read is None:
        return None
    data, lines = read
    try:
        parsed = _SafetyFile.model_validate(data)
    except ValidationError as error:
        problems.extend(_validation_problems(error, file, lines))
        return None
    count = len(problems)
    _check_table(parsed, file, lines, problems)
    lexicons: dict[str, CompiledLexicon] = {}
    directory = path.parent / LEXICON_DIR
    for lexicon_path in sorted(directory.glob("*.yaml")):
        compiled = _load_lexicon_file(lexicon_path, parsed, problems)
        if compiled is not None:
            lexicons[compiled.code] = compiled
    files = {path.stem for path in directory.glob("*.yaml")}
    for code in LANGUAGES:
        # A file that failed has its own problems; this is for a language with no file.
        if code not in files:
            problems.append(
                FlowProblem(file, 0, f"no lexicon for {code!r} in {directory}/{code}.yaml")
            )
    model = _load_model(directory / MODEL_FILE, problems)
    if len(problems) > count:
        return None
    return SafetyLexicon(
        file,
        parsed.helplines,
        parsed.categories,
        parsed.situations,
        _shared_denials(lexicons),
        Laughter.of(parsed.laughter),
        model,
    )


def _load_model(path: Path, problems: list[FlowProblem]) -> SafetyModel | None:
    """The model beside the lexicons, if there is one; a broken one is a problem."""
    if not path.exists():
        return None
    try:
        return load_model(path)
    except ValueError as error:
        problems.append(FlowProblem(str(path), 0, str(error)))
        return None


# People mix languages written in one alphabet ("je suis pas suicidal"): a denial, a past
# or media marker and a figure of speech of any Latin or Cyrillic lexicon count for the
# others of that alphabet ("ce film sur le suicide" against the English
# "suicid*"), except a one-word one that is an everyday word of the lexicon reading the
# message (its `everyday_words`: "ne" is Turkish for "what"). Not in Arabic script, where a
# negation of one language is an ordinary word of another (Arabic ما is the Dari "we").
SHARED_CONTEXT_SCRIPTS = ("latin", "cyrillic")
# Shared kinds of context; errands stay with their lexicon (a cry for help and the errand
# it is about are written in one language).
MARKER_KINDS = ("past", "media", "figurative", "denials")
WORD_KINDS = ("negations", "negations_after")


def _shared_denials(lexicons: Mapping[str, CompiledLexicon]) -> dict[str, CompiledLexicon]:
    shared: dict[str, CompiledLexicon] = {}
    for code, compiled in lexicons.items():
        if compiled.script not in SHARED_CONTEXT_SCRIPTS:
            shared[code] = compiled
            continue
        same = [other for other in lexicons.values() if other.script == compiled.script]
        context = shared_context(compiled, same)
        shared[code] = dataclasses.replace(compiled, context=context)
    return shared


def shared_context(reader: CompiledLexicon, sources: Sequence[CompiledLexicon]) -> Context:
    """The context `reader` applies: its own, and that of `sources` minus its everyday words."""
    everyday = reader.everyday

    def words(kind: str) -> frozenset[str]:
        return frozenset(
            word
            for source in sources
            for word, _ in source.context_words.get(kind, ())
            if "*" not in word and (source is reader or word not in everyday)
        )

    def patterns(kind: str) -> list[re.Pattern[str]]:
        found = []
        for source in sources:
            for phrase in source.markers.get(kind, ()):
                if source is reader or not everyday or len(phrase.text.split()) != 1:
                    found.append(phrase.pattern)
                else:
                    found.append(
                        compile_phrase(
                            phrase.text,
                            source.tokeniser,
                            proclitics=source.starts.proclitics,
                            excluded=everyday,
                        )
                    )
        return found

    return Context(
        negations=words("negations"),
        negations_after=words("negations_after"),
        past=_union(patterns("past")),
        media=_union(patterns("media")),
        figurative=_union(patterns("figurative")),
        # Endings and shapes stay with their language: "*mam" is Turkish only.
        negation_endings=reader.context.negation_endings,
        negation_shapes=reader.context.negation_shapes,
        denials=bare_clause(patterns("denials")),
        errands=reader.context.errands,
    )


def _union(patterns: Sequence[re.Pattern[str] | None]) -> re.Pattern[str] | None:
    present = [pattern for pattern in patterns if pattern is not None]
    return combine(present) if present else None


def _with_quote_hint(problem: FlowProblem) -> FlowProblem:
    if "alias" not in problem.message:
        return problem
    hint = "; a phrase that starts with * must be in quotes: - '*word'"
    return FlowProblem(problem.file, problem.line, problem.message + hint)


def _check_table(
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
    for name, situation in parsed.situations.items():
        if situation.category not in parsed.categories:
            problems.append(
                FlowProblem(
                    file,
                    line_for(lines, ("situations", name)),
                    f"situation {name!r}: no category {situation.category!r}",
                )
            )


def _load_lexicon_file(
    path: Path, table: _SafetyFile, problems: list[FlowProblem]
) -> CompiledLexicon | None:
    file = str(path)
    read = _read(path, problems)
    if read is None:
        return None
    data, lines = read
    try:
        parsed = _LexiconFile.model_validate(data)
    except ValidationError as error:
        problems.extend(_validation_problems(error, file, lines))
        return None
    count = len(problems)
    if parsed.language != path.stem:
        problems.append(
            FlowProblem(file, line_for(lines, ("language",)), f"must say language: {path.stem}")
        )
    if parsed.reply not in LANGUAGES:
        problems.append(
            FlowProblem(
                file,
                line_for(lines, ("reply",)),
                f"reply {parsed.reply!r} is not a shipped language",
            )
        )
    compiled = _compile(parsed, table, file, lines, problems)
    return compiled if len(problems) == count else None


def _compile(
    parsed: _LexiconFile,
    table: _SafetyFile,
    file: str,
    lines: Mapping[KeyPath, int],
    problems: list[FlowProblem],
) -> CompiledLexicon:
    plain = Tokeniser(parsed.apostrophes, {}, frozenset(), frozenset())
    joins = frozenset(word for raw in parsed.join_next for word in plain.words(prepare(raw)))
    breaks = frozenset(word for raw in parsed.clause_breaks for word in plain.words(prepare(raw)))
    unjoined = Tokeniser(parsed.apostrophes, {}, joins, frozenset())
    spellings: dict[str, tuple[str, ...]] = {}
    for written, meant in parsed.spellings.items():
        source = unjoined.words(prepare(written))
        target = tuple(unjoined.words(prepare(meant)))
        if len(source) != 1 or not target:
            line = line_for(lines, ("spellings", written))
            problems.append(
                FlowProblem(file, line, f"spelling {written!r}: one word, spelt as some words")
            )
            continue
        spellings[source[0]] = target
    tokeniser = Tokeniser(parsed.apostrophes, spellings, joins, breaks)
    negations = _single_words(parsed.negations, tokeniser)
    after = _single_words(parsed.negations_after, tokeniser)
    proclitics = parsed.proclitics

    def compiled(listed: Sequence[str], where: KeyPath, situation: str = "") -> list[Phrase]:
        return list(
            _phrases(
                listed, tokeniser, negations, proclitics, situation, file, lines, where, problems
            )
        )

    by_category: dict[str, list[Phrase]] = {}
    for situation, listed in parsed.situations.items():
        where: KeyPath = ("situations", situation)
        if situation not in table.situations:
            problems.append(
                FlowProblem(file, line_for(lines, where), f"unknown situation {situation!r}")
            )
            continue
        category = table.situations[situation].category
        by_category.setdefault(category, []).extend(compiled(listed, where, situation))
    markers = {kind: tuple(compiled(getattr(parsed, kind), (kind,))) for kind in MARKER_KINDS}
    errands = compiled(parsed.errands, ("errands",))
    context_words = {
        kind: tuple(
            (word, line_for(lines, (kind, index)))
            for index, raw in enumerate(getattr(parsed, kind))
            for word in _single_words([raw], tokeniser)
        )
        for kind in WORD_KINDS
    }
    everyday = frozenset(_single_words(parsed.everyday_words, tokeniser))
    context = Context(
        negations=frozenset(word for word in negations if "*" not in word),
        negations_after=frozenset(after),
        past=_combined(markers["past"]),
        media=_combined(markers["media"]),
        figurative=_combined(markers["figurative"]),
        negation_endings=tuple(word[1:] for word in negations if word.startswith("*")),
        negation_shapes=tuple(
            (prefix, suffix)
            for prefix, suffix in (word.split("*", 1) for word in negations if "*" in word)
            if prefix
        ),
        denials=bare_clause([phrase.pattern for phrase in markers["denials"]]),
        errands=_combined(errands),
    )
    _check_everyday(
        everyday, context, markers, file, line_for(lines, ("everyday_words",)), problems
    )
    ordered = {name: tuple(by_category[name]) for name in table.categories if by_category.get(name)}
    return CompiledLexicon(
        code=parsed.language,
        reply=parsed.reply,
        situations_line=line_for(lines, ("situations",)),
        script=parsed.script,
        file=file,
        tokeniser=tokeniser,
        context=context,
        phrases=ordered,
        combined={name: combine([p.pattern for p in found]) for name, found in ordered.items()},
        starts=Starts.of(
            [
                start
                for found in ordered.values()
                for p in found
                for start in first_words(p.text, tokeniser)
            ],
            proclitics,
        ),
        markers=markers,
        context_words=context_words,
        everyday=everyday,
    )


def _check_everyday(
    everyday: frozenset[str],
    context: Context,
    markers: Mapping[str, Sequence[Phrase]],
    file: str,
    line: int,
    problems: list[FlowProblem],
) -> None:
    # An everyday word is one this language does not read as context: it cannot be one of
    # its own negations or markers too.
    for word in sorted(everyday):
        reading = f" {word} "
        own = context.denies(word) or word in context.negations_after
        own = own or any(
            (found := phrase.pattern.match(reading)) is not None and found.end() == len(word) + 1
            for kind in ("past", "media", "figurative")
            for phrase in markers[kind]
        )
        if own:
            problems.append(
                FlowProblem(
                    file,
                    line,
                    f"everyday word {word!r} is also a negation or a marker of this lexicon",
                )
            )


def _single_words(listed: Sequence[str], tokeniser: Tokeniser) -> list[str]:
    # A negation written "*miyorum" is an ending, "ما*ش" a shape around the word: kept with
    # their "*" for the phrases' gaps.
    words = []
    for raw in listed:
        if raw.startswith("*") or "*" in raw.strip("*"):
            prefix, _, suffix = raw.partition("*")
            words.append(f"{_first_word(prefix, tokeniser)}*{_first_word(suffix, tokeniser)}")
        else:
            words.extend(tokeniser.words(prepare(raw)))
    return words


def _first_word(text: str, tokeniser: Tokeniser) -> str:
    return next(iter(tokeniser.words(prepare(text))), "") if text else ""


def _combined(phrases: Sequence[Phrase]) -> Any:
    return combine([phrase.pattern for phrase in phrases]) if phrases else None


def _phrases(
    written: Sequence[str],
    tokeniser: Tokeniser,
    negations: Sequence[str],
    proclitics: Sequence[str],
    situation: str,
    file: str,
    lines: Mapping[KeyPath, int],
    where: KeyPath,
    problems: list[FlowProblem],
) -> Iterator[Phrase]:
    for index, text in enumerate(written):
        line = line_for(lines, (*where, index))
        try:
            pattern = compile_phrase(text, tokeniser, negations, proclitics)
        except ValueError as error:
            problems.append(FlowProblem(file, line, f"phrase {text!r}: {error}"))
            continue
        yield Phrase(text, line, situation, pattern, written_words(text, tokeniser, proclitics))


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
