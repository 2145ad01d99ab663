"""The blind sets: well-formed, big enough, and covering every language and situation.

Their scores are printed by bench/safety_corpus.py; bench/RESULTS.md records them and
says which sets have been looked at to fix misses (retired: kept as regression sets).
"""

from __future__ import annotations

import pytest

from bot.i18n import LANGUAGES
from bot.safety import scan
from bot.safety_lexicon import shipped_lexicon
from tests.safety.corpus import (
    blind_sets,
    load_blind,
    scan_language,
    score_blind,
)

MINIMUM_DANGER = 200
MINIMUM_EVERYDAY = 1000


@pytest.mark.parametrize("name", blind_sets())
def test_a_blind_set_is_big_enough_in_every_language_and_situation(name: str) -> None:
    blind = load_blind(name)
    assert len(blind.danger) >= MINIMUM_DANGER
    assert len(blind.everyday) >= MINIMUM_EVERYDAY
    languages = {scan_language(message.language) for message in blind.danger}
    assert languages == set(LANGUAGES)
    assert {scan_language(message.language) for message in blind.everyday} == set(LANGUAGES)
    assert {message.situation for message in blind.danger} == set(shipped_lexicon().situations)
    assert any(message.script == "latin" for message in blind.danger)
    assert any(message.language == "ru" for message in blind.danger)


# What this round reached on every set (bench/RESULTS.md): issue 12's targets (recall
# 0.90, false alarms 1 %) are not met yet, but what was gained must not be lost.
RECALL_FLOOR = 0.74
FALSE_ALARM_CEILING = 0.03


@pytest.mark.parametrize("name", blind_sets())
def test_no_blind_set_falls_below_what_this_lexicon_reached(name: str) -> None:
    situations = {key: row.category for key, row in shipped_lexicon().situations.items()}
    result = score_blind(load_blind(name), scan, situations)
    assert result.recall() >= RECALL_FLOOR
    assert result.false_alarm_rate() <= FALSE_ALARM_CEILING
