"""The scan: the corpus targets in every language, normalisation, figurative speech, and
a scan that never raises whatever it is given."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine.answers import fold
from bot.i18n import LANGUAGES
from bot.safety import MAX_SCANNED_CHARS, scan
from bot.safety_lexicon import shipped_lexicon
from tests.safety.corpus import (
    EXPLICIT_RECALL_TARGET,
    FALSE_POSITIVE_TARGET,
    all_messages,
    load_corpus,
    score,
)

MINIMUM_POSITIVES = 25
MINIMUM_NEGATIVES = 60


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_corpus_is_big_enough_in_every_language(language: str) -> None:
    corpus = load_corpus(language)
    categories = {positive.category for positive in corpus.positives}
    assert len(corpus.positives) >= MINIMUM_POSITIVES
    assert len(corpus.negatives) >= MINIMUM_NEGATIVES
    assert categories == set(shipped_lexicon().categories)
    assert any(p.explicit and p.category == "suicide_selfharm" for p in corpus.positives)
    assert any(p.explicit and p.category == "violence_abuse" for p in corpus.positives)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_explicit_statement_of_danger_is_found(language: str) -> None:
    result = score(load_corpus(language), scan)
    missed = [p.text for p in result.missed if p.explicit]
    assert result.explicit_recall >= EXPLICIT_RECALL_TARGET, missed


@pytest.mark.parametrize("language", LANGUAGES)
def test_ordinary_messages_are_rarely_taken_for_danger(language: str) -> None:
    result = score(load_corpus(language), scan)
    assert result.false_positive_rate <= FALSE_POSITIVE_TARGET, result.false_positives


@pytest.mark.parametrize(
    "text",
    [
        "JE VEUX MOURIR",
        "je veux mourrrrir",
        "jveux mourir",
        "j'veux mourir",
        "J’ai envie de mourir",  # a phone's curly apostrophe
        "jsuis a bout, jvais me tuer",
        "je veux vraiment juste mourir",
    ],
)
def test_case_accents_repeated_letters_and_sms_spellings_do_not_hide_danger(text: str) -> None:
    found = scan(text, "fr")
    assert found is not None
    assert found.category == "suicide_selfharm"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("أريد أن أموت", "ar"),
        ("اريد ان اموت", "ar"),  # without hamzas
        ("سأنتحر", "ar"),
        ("ساَنتحِر", "ar"),  # with harakat
        ("می‌خواهم بمیرم", "fa_AF"),  # half-space
        ("می خواهم بمیرم", "fa_AF"),  # space
        ("ميخواهم بميرم", "fa_AF"),  # Arabic yeh
        ("ÖLMEK İSTİYORUM", "tr"),
        ("olmek istiyorum", "tr"),
        ("чоловік мене б'є", "uk"),
        ("чоловик мене бє", "uk"),  # Russian keyboard, no apostrophe
    ],
)
def test_letter_variants_of_each_script_are_read_alike(text: str, language: str) -> None:
    assert scan(text, language) is not None


@pytest.mark.parametrize(
    "text",
    [
        "mort de rire",
        "j'ai envie de mourir de rire",
        "je meurs de faim",
        "ça me tue",
        "I'm dying to see you",
        "you're killing it",
        "this is killing me",
        "je veux en finir avec ce dossier",
    ],
)
def test_figurative_speech_is_not_danger(text: str) -> None:
    assert scan(text, "fr") is None


def test_figurative_speech_does_not_hide_danger_elsewhere_in_the_message() -> None:
    found = scan("mort de rire hier, mais aujourd'hui je veux mourir", "fr")
    assert found is not None
    assert found.category == "suicide_selfharm"


def test_a_gap_never_skips_a_negation() -> None:
    assert scan("je veux vraiment mourir", "fr") is not None
    assert scan("je ne veux pas mourir", "fr") is None


def test_a_message_in_another_language_than_the_persons_is_read() -> None:
    found = scan("زوجي يضربني", "fr")
    assert found is not None
    assert (found.category, found.language) == ("violence_abuse", "ar")


def test_the_gravest_category_wins_when_a_message_has_several() -> None:
    found = scan("il me frappe et je dors dehors, je veux mourir", "fr")
    assert found is not None
    assert found.category == "suicide_selfharm"


def test_pills_taken_get_the_ambulance_first_even_with_a_wish_to_die() -> None:
    found = scan("j'ai avalé toute la boîte de somnifères, je veux mourir", "fr")
    assert found is not None
    assert found.category == "overdose"


def test_the_detection_names_the_phrase_and_its_line_in_safety_yaml() -> None:
    found = scan("je veux en finir", "fr")
    assert found is not None
    assert found.phrase == "en finir"
    assert found.line > 0


def test_an_empty_or_huge_message_is_scanned_without_trouble() -> None:
    assert scan("", "fr") is None
    assert scan("bonjour " * (MAX_SCANNED_CHARS // 4), "fr") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from([*LANGUAGES, None, "xx", ""]))
def test_the_scan_never_raises_on_any_text(text: str, language: str | None) -> None:
    scan(text, language)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_the_scan_is_idempotent_under_fold(text: str) -> None:
    assert scan(fold(text), "fr") == scan(text, "fr")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(all_messages(LANGUAGES)))
def test_folding_a_corpus_message_does_not_change_what_is_found(text: str) -> None:
    assert scan(fold(text), "fr") == scan(text, "fr")
