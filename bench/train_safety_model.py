"""Train the danger model (bot/safety_model.py) and write flows/safety/model.json.

    .venv/bin/python bench/train_safety_model.py [--check]

Learns from the tuning corpus (tests/safety/corpus/) and the retired blind sets, never
from the sets that are the current report (MEASURE_SETS in tests/safety/corpus.py). A
logistic regression over TF-IDF of character 3–5-grams and words and word pairs, the
features bot/safety_model.py computes; the file keeps per feature its idf and weight,
and a few messages with the probability scikit-learn gave them, so a test checks that the
plain-Python reading gives the same. --check prints what a retraining would change
without writing.

The operating point (C, threshold) was chosen with sets c and d held out in turn
(bench/RESULTS.md): each point of false alarms bought 5 to 8 points of recall.
"""

from __future__ import annotations

import argparse
import json
import sys

from common import ROOT  # noqa: F401 - puts the source tree on sys.path
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot import paths
from bot.i18n import LANGUAGES
from bot.safety_lexicon import LEXICON_DIR
from bot.safety_model import FORMAT_VERSION, MODEL_FILE, features, load_model
from tests.safety.corpus import digest, training_messages, training_sets

# Regularisation and threshold chosen on held-out sets c and d (bench/RESULTS.md).
C = 30.0
THRESHOLD = 0.9
# Features seen in fewer messages are noise (a name, a typo once).
MIN_MESSAGES = 2
PROBES = 40
SIGNIFICANT = 7


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT}g}")


def train() -> dict[str, object]:
    """The model's file contents, trained on the current data."""
    messages = training_messages(LANGUAGES)
    texts = [text for text, _ in messages]
    labels = [label for _, label in messages]
    vectoriser = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=MIN_MESSAGES)
    matrix = vectoriser.fit_transform(texts)
    model = LogisticRegression(C=C, max_iter=10_000, class_weight="balanced")
    model.fit(matrix, labels)
    names = vectoriser.get_feature_names_out()
    weights = {
        str(name): [_round(idf), _round(weight)]
        for name, idf, weight in zip(names, vectoriser.idf_, model.coef_[0], strict=True)
    }
    step = max(1, len(texts) // PROBES)
    probes = texts[::step][:PROBES]
    chances = model.predict_proba(vectoriser.transform(probes))[:, 1]
    return {
        "format": FORMAT_VERSION,
        "threshold": THRESHOLD,
        "intercept": _round(float(model.intercept_[0])),
        "trained_on": {
            "sets": ["tuning", *training_sets()],
            "messages": len(messages),
            "danger": sum(labels),
            "sha256": digest(messages),
            "C": C,
        },
        "probes": [[text, round(float(p), 6)] for text, p in zip(probes, chances, strict=True)],
        "features": weights,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    arguments = parser.parse_args()
    path = paths.flows_dir() / LEXICON_DIR / MODEL_FILE
    trained = train()
    summary = trained["trained_on"]
    print(f"trained on {summary}; {len(trained['features'])} features")  # type: ignore[arg-type]
    if arguments.check:
        current = load_model(path) if path.exists() else None
        same = current is not None and current.trained_on == summary
        print("the shipped model is up to date" if same else "the shipped model is stale")
        return 0 if same else 1
    path.write_text(json.dumps(trained, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
