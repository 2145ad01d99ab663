"""The danger-detection corpora: the tuning corpus and the blind sets, loaded and scored.

- The tuning corpus (tests/safety/corpus/<lang>.yaml) is what the lexicons are grown
  from: a missed message there is fixed by a phrase.
- The blind sets (tests/safety/blind/<set>/danger.yaml and everyday.yaml) were written by
  people who never read the lexicons. They are only measured: when one is used to find
  what the lexicons miss, it is retired and a new one is written (bench/RESULTS.md says
  which set is the current report).

Shared by the tests, which hold the targets, and by bench/safety_corpus.py, which prints
recall per language and situation, false alarms per language, and the scan time.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.safety import Detection

CORPUS_DIR = Path(__file__).parent / "corpus"
BLIND_DIR = Path(__file__).parent / "blind"
# Tuning corpus: every explicit statement found, at most 1 % of ordinary messages flagged.
EXPLICIT_RECALL_TARGET = 1.0
FALSE_POSITIVE_TARGET = 0.01
# Blind sets (issue 12): recall overall and per language and category; false alarms.
BLIND_RECALL_TARGET = 0.90
BLIND_GROUP_RECALL_TARGET = 0.75
BLIND_FALSE_ALARM_TARGET = 0.01
BLIND_LANGUAGE_FALSE_ALARM_TARGET = 0.03
# The language a person who writes Russian has chosen in Relais.
SCAN_LANGUAGE = {"ru": "uk"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Positive(_Strict):
    """A message that must get the reply of `category`."""

    text: str = Field(min_length=1)
    category: str
    # A plain statement of wanting to die or of ongoing violence: must always be found.
    explicit: bool = False


class Corpus(_Strict):
    """The tuning messages of one language."""

    language: str
    positives: list[Positive]
    negatives: list[str]


def load_corpus(language: str, directory: Path = CORPUS_DIR) -> Corpus:
    """Read and validate `<directory>/<language>.yaml`."""
    data = yaml.safe_load((directory / f"{language}.yaml").read_text(encoding="utf-8"))
    corpus = Corpus.model_validate(data)
    if corpus.language != language:
        raise ValueError(f"{language}.yaml says language {corpus.language!r}")
    return corpus


Scan = Callable[[str, str], Detection | None]


@dataclass
class Score:
    """How a scanner did on one language's tuning corpus."""

    language: str
    found: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)
    explicit_found: int = 0
    explicit_total: int = 0
    false_positives: list[str] = field(default_factory=list)
    negatives: int = 0
    missed: list[Positive] = field(default_factory=list)

    @property
    def explicit_recall(self) -> float:
        return self.explicit_found / self.explicit_total if self.explicit_total else 1.0

    @property
    def recall(self) -> float:
        total = sum(self.expected.values())
        return sum(self.found.values()) / total if total else 1.0

    @property
    def false_positive_rate(self) -> float:
        return len(self.false_positives) / self.negatives if self.negatives else 0.0

    def category_recall(self, category: str) -> float:
        total = self.expected.get(category, 0)
        return self.found.get(category, 0) / total if total else 1.0

    @property
    def meets_targets(self) -> bool:
        return (
            self.explicit_recall >= EXPLICIT_RECALL_TARGET
            and self.false_positive_rate <= FALSE_POSITIVE_TARGET
        )


def score(corpus: Corpus, scan: Scan) -> Score:
    """Scan every message as if written by someone whose language is the corpus's.

    A positive counts as found only with its own category: a suicide reply to someone
    describing violence gives the wrong numbers.
    """
    result = Score(corpus.language, negatives=len(corpus.negatives))
    for positive in corpus.positives:
        category = positive.category
        result.expected[category] = result.expected.get(category, 0) + 1
        detection = scan(positive.text, corpus.language)
        hit = detection is not None and detection.category == category
        if hit:
            result.found[category] = result.found.get(category, 0) + 1
        else:
            result.missed.append(positive)
        if positive.explicit:
            result.explicit_total += 1
            result.explicit_found += int(hit)
    result.false_positives = [
        text for text in corpus.negatives if scan(text, corpus.language) is not None
    ]
    return result


def all_messages(languages: Iterable[str]) -> list[str]:
    """Every message of the tuning corpus, positives and negatives, for timing and fuzzing."""
    messages: list[str] = []
    for language in languages:
        corpus = load_corpus(language)
        messages.extend(positive.text for positive in corpus.positives)
        messages.extend(corpus.negatives)
    return messages


# ------------------------------------------------------------------------------ blind sets


class BlindDanger(_Strict):
    """A danger message of a blind set, labelled by its writer."""

    text: str = Field(min_length=1)
    language: str
    script: Literal["native", "latin"]
    situation: str
    level: Literal["danger", "concern"]


class BlindEveryday(_Strict):
    """An everyday message of a blind set: nothing must be raised."""

    text: str = Field(min_length=1)
    language: str
    script: Literal["native", "latin"]
    kind: str


class _DangerFile(_Strict):
    set: str
    messages: list[BlindDanger]


class _EverydayFile(_Strict):
    set: str
    messages: list[BlindEveryday]


@dataclass(frozen=True)
class BlindSet:
    """One blind set: danger messages and everyday messages."""

    name: str
    danger: tuple[BlindDanger, ...]
    everyday: tuple[BlindEveryday, ...]


def blind_sets(directory: Path = BLIND_DIR) -> list[str]:
    """The names of the blind sets on disk."""
    return sorted(
        path.name
        for path in directory.iterdir()
        if (path / "danger.yaml").exists() and (path / "everyday.yaml").exists()
    )


def load_blind(name: str, directory: Path = BLIND_DIR) -> BlindSet:
    """Read and validate one blind set."""
    folder = directory / name
    danger = _DangerFile.model_validate(yaml.safe_load((folder / "danger.yaml").read_text("utf-8")))
    everyday = _EverydayFile.model_validate(
        yaml.safe_load((folder / "everyday.yaml").read_text("utf-8"))
    )
    return BlindSet(name, tuple(danger.messages), tuple(everyday.messages))


def scan_language(language: str) -> str:
    """The language Relais knows for someone who writes this way."""
    return SCAN_LANGUAGE.get(language, language)


@dataclass
class BlindScore:
    """Recall and false alarms of a scanner on one blind set, by group."""

    found: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    alarms: Counter[str] = field(default_factory=Counter)
    everyday: Counter[str] = field(default_factory=Counter)
    missed: list[BlindDanger] = field(default_factory=list)
    false_alarms: list[tuple[BlindEveryday, Detection]] = field(default_factory=list)

    def recall(self, group: str = "all") -> float:
        return self.found[group] / self.total[group] if self.total[group] else 1.0

    def false_alarm_rate(self, group: str = "all") -> float:
        return self.alarms[group] / self.everyday[group] if self.everyday[group] else 0.0

    def failures(self) -> list[str]:
        """Each target of issue 12 that this set misses, in words."""
        failed = []
        if self.recall() < BLIND_RECALL_TARGET:
            failed.append(f"recall {self.recall():.2f} < {BLIND_RECALL_TARGET}")
        for group in sorted(self.total):
            if group != "all" and self.recall(group) < BLIND_GROUP_RECALL_TARGET:
                failed.append(f"recall of {group} {self.recall(group):.2f}")
        if self.false_alarm_rate() > BLIND_FALSE_ALARM_TARGET:
            failed.append(f"false alarms {self.false_alarm_rate():.3f}")
        for group in sorted(self.everyday):
            rate = self.false_alarm_rate(group)
            if group.startswith("lang:") and rate > BLIND_LANGUAGE_FALSE_ALARM_TARGET:
                failed.append(f"false alarms in {group} {rate:.3f}")
        return failed


def score_blind(blind: BlindSet, scan: Scan, situations: dict[str, str]) -> BlindScore:
    """Scan a blind set; a danger message counts as found whatever reply it gets.

    Groups: `all`, `lang:<language>` (Russian and Latin-script writing count with the
    language the person chose) and `cat:<category>` of the writer's situation.
    """
    result = BlindScore()
    for message in blind.danger:
        language = scan_language(message.language)
        groups = ("all", f"lang:{language}", f"cat:{situations.get(message.situation, '?')}")
        hit = scan(message.text, language) is not None
        for group in groups:
            result.total[group] += 1
            result.found[group] += int(hit)
        if not hit:
            result.missed.append(message)
    for everyday in blind.everyday:
        language = scan_language(everyday.language)
        detection = scan(everyday.text, language)
        for group in ("all", f"lang:{language}"):
            result.everyday[group] += 1
            result.alarms[group] += int(detection is not None)
        if detection is not None:
            result.false_alarms.append((everyday, detection))
    return result


# ------------------------------------------------------------------------- the model's data

# The blind sets that are the honest report (bench/RESULTS.md): never trained on. Every
# other set has been looked at, and teaches the model (bench/train_safety_model.py).
MEASURE_SETS = ("e",)


def training_sets() -> list[str]:
    """The retired blind sets, which the model is trained on with the tuning corpus."""
    return [name for name in blind_sets() if name not in MEASURE_SETS]


def training_messages(languages: Iterable[str]) -> list[tuple[str, int]]:
    """(text, 1 for danger or 0 for everyday) of the tuning corpus and the retired sets."""
    messages: list[tuple[str, int]] = []
    for language in languages:
        corpus = load_corpus(language)
        messages.extend((positive.text, 1) for positive in corpus.positives)
        messages.extend((text, 0) for text in corpus.negatives)
    for name in training_sets():
        blind = load_blind(name)
        messages.extend((message.text, 1) for message in blind.danger)
        messages.extend((message.text, 0) for message in blind.everyday)
    return messages


def digest(messages: Iterable[tuple[str, int]]) -> str:
    """A fingerprint of training data: the model says which data it learnt from."""
    hasher = hashlib.sha256()
    for text, label in sorted(messages):
        hasher.update(f"{label}\t{text}\n".encode())
    return hasher.hexdigest()
