"""Danger detection on the test corpus: recall and false positives per language and category.

    .venv/bin/python bench/safety_corpus.py [--show]

Scans every message of tests/safety/corpus/<lang>.yaml as if written by someone whose
language is the corpus's, prints recall per category, recall on explicit statements
(wanting to die, ongoing violence) and the false-positive rate on ordinary messages,
then the scan time per message. Exits 1 when a language misses a target: every explicit
statement found, at most 5 % of ordinary messages flagged. --show lists the misses and
the false positives.
"""

from __future__ import annotations

import argparse
import sys
import time

from common import ROOT  # noqa: F401 - puts the source tree on sys.path

from bot.i18n import LANGUAGES
from bot.safety import scan
from bot.safety_lexicon import shipped_lexicon
from tests.safety.corpus import (
    EXPLICIT_RECALL_TARGET,
    FALSE_POSITIVE_TARGET,
    all_messages,
    load_corpus,
    score,
)


def _percent(value: float) -> str:
    return f"{100 * value:5.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="list misses and false positives")
    arguments = parser.parse_args()
    categories = list(shipped_lexicon().categories)
    # "no_shelter_tonight" reads "shelter": the first word that says what it is about.
    short = {name: next(w for w in name.split("_") if w != "no")[:9] for name in categories}
    header = " ".join(f"{short[name]:>9}" for name in categories)
    print(f"{'lang':6} {'pos':>4} {'neg':>4} {header} {'explicit':>9} {'all':>7} {'FP':>7}  ok")
    failed = []
    for language in LANGUAGES:
        corpus = load_corpus(language)
        result = score(corpus, scan)
        cells = " ".join(f"{_percent(result.category_recall(name)):>9}" for name in categories)
        ok = "yes" if result.meets_targets else "NO"
        print(
            f"{language:6} {len(corpus.positives):>4} {len(corpus.negatives):>4} {cells} "
            f"{_percent(result.explicit_recall):>9} {_percent(result.recall):>7} "
            f"{_percent(result.false_positive_rate):>7}  {ok}"
        )
        if not result.meets_targets:
            failed.append(language)
        if arguments.show:
            for positive in result.missed:
                print(f"    missed ({positive.category}): {positive.text}")
            for text in result.false_positives:
                print(f"    false positive: {text} -> {scan(text, language)}")
    messages = all_messages(LANGUAGES)
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for message in messages:
            scan(message, "fr")
    elapsed = time.perf_counter() - started
    per_message = elapsed / (rounds * len(messages))
    print(f"\nscan: {1e6 * per_message:.0f} µs a message ({len(messages)} messages x {rounds})")
    print(
        f"targets: explicit recall {_percent(EXPLICIT_RECALL_TARGET).strip()}, "
        f"false positives at most {_percent(FALSE_POSITIVE_TARGET).strip()}"
    )
    if failed:
        print(f"FAILED in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
