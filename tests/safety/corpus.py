"""The danger-detection corpus (tests/safety/corpus/<lang>.yaml): loading and scoring.

Shared by the tests, which hold the targets, and by bench/safety_corpus.py, which prints
the numbers per language and category.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.safety import Detection

CORPUS_DIR = Path(__file__).parent / "corpus"
# The targets of issue 7: every explicit statement found, at most 5 % of ordinary
# messages flagged, in every language.
EXPLICIT_RECALL_TARGET = 1.0
FALSE_POSITIVE_TARGET = 0.05


class Positive(BaseModel):
    """A message that must get the danger reply of `category`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    category: str
    # A plain statement of wanting to die or of ongoing violence: must always be found.
    explicit: bool = False


class Corpus(BaseModel):
    """The test messages of one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
    """How a scanner did on one language's corpus."""

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
    """Every message of the corpus, positives and negatives, for timing and fuzzing."""
    messages: list[str] = []
    for language in languages:
        corpus = load_corpus(language)
        messages.extend(positive.text for positive in corpus.positives)
        messages.extend(corpus.negatives)
    return messages
