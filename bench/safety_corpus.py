"""Danger detection measured: the tuning corpus, the blind sets, and the scan time.

    .venv/bin/python bench/safety_corpus.py [--tuning | --blind SET] [--lang L] [--show]

Tuning corpus (tests/safety/corpus/, what the lexicons are grown from): recall per
category, explicit recall and false positives per language. Blind sets
(tests/safety/blind/<set>/, never tuned on): recall per language and per category, false
alarms per language, then the scan time per message (p50, p99, max). Exits 1 when a
target is missed. --show lists misses and false alarms: looking at a blind set's misses
to fix them retires that set (say so in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from common import ROOT  # noqa: F401 - puts the source tree on sys.path

from bot.i18n import LANGUAGES
from bot.safety import scan
from bot.safety_lexicon import shipped_lexicon
from tests.safety.corpus import (
    BLIND_FALSE_ALARM_TARGET,
    BLIND_GROUP_RECALL_TARGET,
    BLIND_LANGUAGE_FALSE_ALARM_TARGET,
    BLIND_RECALL_TARGET,
    EXPLICIT_RECALL_TARGET,
    FALSE_POSITIVE_TARGET,
    all_messages,
    blind_sets,
    load_blind,
    load_corpus,
    scan_language,
    score,
    score_blind,
)


def _percent(value: float) -> str:
    return f"{100 * value:5.1f}%"


def tuning(languages: list[str], show: bool) -> bool:
    """Print the tuning corpus's scores; True when every language meets its targets."""
    categories = list(shipped_lexicon().categories)
    header = " ".join(f"{name[:9]:>9}" for name in categories)
    print(f"tuning corpus\n{'lang':6} {'pos':>4} {'neg':>4} {header} {'explicit':>9} {'FP':>7}  ok")
    ok = True
    for language in languages:
        corpus = load_corpus(language)
        result = score(corpus, scan)
        cells = " ".join(f"{_percent(result.category_recall(name)):>9}" for name in categories)
        print(
            f"{language:6} {len(corpus.positives):>4} {len(corpus.negatives):>4} {cells} "
            f"{_percent(result.explicit_recall):>9} {_percent(result.false_positive_rate):>7}  "
            f"{'yes' if result.meets_targets else 'NO'}"
        )
        ok = ok and result.meets_targets
        if show:
            for positive in result.missed:
                print(
                    f"    missed ({positive.category}): {positive.text} -> "
                    f"{scan(positive.text, language)}"
                )
            for text in result.false_positives:
                print(f"    false positive: {text} -> {scan(text, language)}")
    print(
        f"targets: explicit recall {_percent(EXPLICIT_RECALL_TARGET).strip()}, "
        f"false positives at most {_percent(FALSE_POSITIVE_TARGET).strip()}\n"
    )
    return ok


def blind(name: str, languages: list[str], show: bool, only: set[str] | None = None) -> bool:
    """Print one blind set's scores; True when it meets issue 12's targets."""
    lexicon = shipped_lexicon()
    situations = {name: row.category for name, row in lexicon.situations.items()}
    result = score_blind(load_blind(name), scan, situations)
    print(f"blind set {name}: {result.total['all']} danger, {result.everyday['all']} everyday")
    print(
        f"  recall {_percent(result.recall())}   false alarms {_percent(result.false_alarm_rate())}"
    )
    print(f"  {'language':10} {'danger':>6} {'recall':>7} {'everyday':>8} {'alarms':>7}")
    for language in languages:
        group = f"lang:{language}"
        print(
            f"  {language:10} {result.total[group]:>6} {_percent(result.recall(group)):>7} "
            f"{result.everyday[group]:>8} {_percent(result.false_alarm_rate(group)):>7}"
        )
    print(f"  {'category':20} {'danger':>6} {'recall':>7}")
    for category in lexicon.categories:
        group = f"cat:{category}"
        if result.total[group]:
            print(f"  {category:20} {result.total[group]:>6} {_percent(result.recall(group)):>7}")
    failures = result.failures()
    print(
        f"  targets: recall >= {BLIND_RECALL_TARGET:.2f} overall, >= "
        f"{BLIND_GROUP_RECALL_TARGET:.2f} per language and category; false alarms <= "
        f"{_percent(BLIND_FALSE_ALARM_TARGET).strip()} overall, <= "
        f"{_percent(BLIND_LANGUAGE_FALSE_ALARM_TARGET).strip()} per language"
    )
    print(f"  {'met' if not failures else 'MISSED: ' + '; '.join(failures)}\n")
    if show:
        for message in result.missed:
            if only is None or scan_language(message.language) in only:
                print(f"    missed [{message.language} {message.situation}] {message.text}")
        for everyday, detection in result.false_alarms:
            if only is not None and scan_language(everyday.language) not in only:
                continue
            print(
                f"    false alarm [{everyday.language} {everyday.kind}] {everyday.text} -> "
                f"{detection.language}:{detection.line} {detection.phrase!r}"
            )
    return not failures


def timing(names: list[str]) -> None:
    """Scan time per message over every corpus message, as p50 / p99 / max."""
    messages = all_messages(LANGUAGES)
    for name in names:
        loaded = load_blind(name)
        messages += [m.text for m in loaded.danger] + [m.text for m in loaded.everyday]
    for message in messages[:200]:
        scan(message, "fr")  # warm the lexicon and the regular-expression caches
    samples = []
    for _ in range(5):
        for message in messages:
            started = time.perf_counter()
            scan(message, "fr")
            samples.append(time.perf_counter() - started)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(0.99 * (len(samples) - 1))]
    print(
        f"scan time over {len(messages)} messages x 5: p50 {1e6 * p50:.0f} µs, "
        f"p99 {1e6 * p99:.0f} µs, max {1e6 * samples[-1]:.0f} µs (target: p99 <= 1000 µs)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tuning", action="store_true", help="the tuning corpus only")
    which.add_argument("--blind", metavar="SET", help="one blind set only")
    parser.add_argument(
        "--lang", action="append", help="only these languages (tuning; blind --show lists)"
    )
    parser.add_argument("--show", action="store_true", help="list misses and false alarms")
    arguments = parser.parse_args()
    languages = arguments.lang or list(LANGUAGES)
    ok = True
    if not arguments.blind:
        ok = tuning(languages, arguments.show) and ok
    names = [arguments.blind] if arguments.blind else ([] if arguments.tuning else blind_sets())
    for name in names:
        every = sorted({scan_language(code) for code in LANGUAGES})
        only = set(arguments.lang) if arguments.lang else None
        ok = blind(name, every, arguments.show, only) and ok
    if not arguments.tuning:
        timing(names)
    if not ok:
        print("FAILED: a target is missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
