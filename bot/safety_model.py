"""A second reader for danger: how much a message resembles the danger messages known.

The lexicons (flows/safety/*.yaml) find what they list, with its situation, category and
context. People in danger also write it in ways nobody listed: a veiled farewell, a
parent's roundabout account, a spelling no list foresaw. This model reads the messages
the lexicons found nothing in: a logistic regression over character and word n-grams,
trained on the tuning corpus and the retired blind sets by bench/train_safety_model.py,
shipped as flows/safety/model.json and evaluated here in plain Python.

Above its threshold a message is a *concern* (a person reads it soon: an urgent case "to
assess", the concern reply with 3114 and 112 / SMS 114), never a category's helplines:
the model says "this looks like danger", not which danger. The words that weighed most
are kept, so the worker sees why.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.engine.normalise import stretched_readings
from bot.safety_match import prepare

__all__ = [
    "MODEL_FILE",
    "SafetyModel",
    "features",
    "load_model",
    "word_features",
]

MODEL_FILE = "model.json"
FORMAT_VERSION = 1
# Character n-grams of each word, padded with a space at both ends ("_mour", "rir_").
CHAR_SIZES = range(3, 6)
WORD_PREFIX = "w:"
_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=1 << 16)
def word_features(word: str) -> tuple[str, ...]:
    """The features one word gives: its character n-grams and the word itself."""
    padded = f" {word} "
    grams = [
        padded[start : start + size]
        for size in CHAR_SIZES
        if len(padded) >= size
        for start in range(len(padded) - size + 1)
    ]
    grams.append(WORD_PREFIX + word)
    return tuple(grams)


def _words(prepared: str) -> list[str]:
    # Emphasis is not spelling: "mourrrrir" reads as "mourrir" (a run kept twice).
    return [stretched_readings(word)[-1] for word in _WORD.findall(prepared)]


def features(text: str) -> list[str]:
    """Every feature of a message, repeated as often as it occurs (the trainer's analyzer)."""
    words = _words(prepare(text))
    found = [gram for word in words for gram in word_features(word)]
    found.extend(f"{WORD_PREFIX}{first} {second}" for first, second in itertools.pairwise(words))
    return found


EVIDENCE_MIN_LETTERS = 3
# Shorter messages are left to the lexicons. Chosen with sets c and d held out: from 1 to
# 5 words, no danger message the model found was lost (bench/RESULTS.md).
MIN_WORDS = 4
# How many words' known features a model remembers (a word's are looked up once).
KNOWN_WORDS_CACHED = 100_000


@dataclass(frozen=True)
class SafetyModel:
    """A trained model: per feature its idf and its weight, the intercept and threshold."""

    weights: Mapping[str, tuple[float, float]]
    intercept: float
    threshold: float
    trained_on: Mapping[str, Any]
    _known: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def probability(self, text: str) -> float:
        """How likely the message is a danger message, between 0 and 1."""
        return self.probability_prepared(prepare(text))

    def probability_prepared(self, prepared: str) -> float:
        """`probability` of a text already through `bot.safety_match.prepare`."""
        vector = self._vector(_words(prepared))
        score = self.intercept + sum(value * self.weights[f][1] for f, value in vector.items())
        return 1.0 / (1.0 + math.exp(-score)) if score > -700 else 0.0

    def alarms(self, prepared: str) -> bool:
        """True when a prepared text resembles danger enough for a person to read it soon.

        Not below `MIN_WORDS`: a few words make a vector of a few features, whose score
        says more about those features than about the message ("message 14" scored 0.96).
        """
        if len(_WORD.findall(prepared)) < MIN_WORDS:
            return False
        return self.probability_prepared(prepared) >= self.threshold

    def evidence(self, prepared: str, count: int = 3) -> list[str]:
        """The words of a prepared text that pushed most towards danger, strongest first."""
        words = _words(prepared)
        vector = self._vector(words)
        weight: dict[str, float] = {}
        for word in words:
            # "et", "me", "و": short words weigh little alone and tell a worker nothing.
            if len(word) >= EVIDENCE_MIN_LETTERS and word not in weight:
                weight[word] = sum(
                    vector.get(gram, 0.0) * self.weights[gram][1] for gram in self._grams(word)
                )
        ranked = sorted((w for w in weight if weight[w] > 0), key=lambda w: -weight[w])
        return ranked[:count]

    def _grams(self, word: str) -> tuple[str, ...]:
        grams = self._known.get(word)
        if grams is None:
            grams = tuple(gram for gram in word_features(word) if gram in self.weights)
            if len(self._known) < KNOWN_WORDS_CACHED:
                self._known[word] = grams
        return grams

    def _vector(self, words: list[str]) -> dict[str, float]:
        # TF-IDF as the trainer computes it: (1 + ln count) × idf, then unit length.
        counts: Counter[str] = Counter()
        for word in words:
            counts.update(self._grams(word))
        for first, second in itertools.pairwise(words):
            pair = f"{WORD_PREFIX}{first} {second}"
            if pair in self.weights:
                counts[pair] += 1
        vector = {
            feature: (1.0 + math.log(count)) * self.weights[feature][0]
            for feature, count in counts.items()
        }
        norm = math.sqrt(sum(value * value for value in vector.values()))
        return {feature: value / norm for feature, value in vector.items()} if norm else {}


def load_model(path: Path) -> SafetyModel:
    """Read flows/safety/model.json; ValueError saying what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read the danger model: {error}") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise ValueError(f"the danger model is not format {FORMAT_VERSION}: retrain it")
    try:
        weights = {str(f): (float(pair[0]), float(pair[1])) for f, pair in data["features"].items()}
        intercept = float(data["intercept"])
        threshold = float(data["threshold"])
        trained_on = dict(data["trained_on"])
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise ValueError(f"the danger model is incomplete: {error!r}") from error
    if not weights or not 0.0 < threshold < 1.0:
        raise ValueError("the danger model has no features or a threshold outside (0, 1)")
    return SafetyModel(weights, intercept, threshold, trained_on)
