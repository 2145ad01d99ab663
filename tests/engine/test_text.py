"""Placeholders, right-to-left isolation, SMS layout and the identity translations."""

from __future__ import annotations

import pytest

from bot.engine.text import (
    LRI,
    PDI,
    IdentityTranslations,
    fill,
    for_language,
    format_value,
    isolate_ltr,
    numbered,
    placeholders,
)


@pytest.mark.parametrize(
    ("text", "isolated"),
    [
        ("اتصل بـ 3114", f"اتصل بـ {LRI}3114{PDI}"),
        ("الرقم +33 6 39 98 00 00 الآن", f"الرقم {LRI}+33 6 39 98 00 00{PDI} الآن"),
        ("أرسل STOP للتوقف", f"أرسل {LRI}STOP{PDI} للتوقف"),
        ("برنامج VAE و 114", f"برنامج {LRI}VAE{PDI} و {LRI}114{PDI}"),
        ("لا شيء هنا", "لا شيء هنا"),
    ],
)
def test_it_isolates_numbers_phone_numbers_and_latin_words(text: str, isolated: str) -> None:
    assert isolate_ltr(text) == isolated


def test_isolating_twice_changes_nothing_more() -> None:
    once = isolate_ltr("اتصل بـ 3114 أو أرسل STOP")
    assert isolate_ltr(once) == once


def test_only_right_to_left_languages_get_isolates() -> None:
    assert for_language("STOP 3114", "fa_AF") == f"{LRI}STOP 3114{PDI}"
    assert for_language("STOP 3114", "fr") == "STOP 3114"


def test_a_missing_placeholder_becomes_empty_and_never_raises() -> None:
    values = {"first_name": "Léa", "weeks": 3}
    assert fill("Hi {first_name}, {weeks} {missing}{", values.get) == "Hi Léa, 3 {"


def test_it_finds_placeholder_names() -> None:
    assert placeholders("{first_name} {results.count} {0} {}") == {"first_name", "results.count"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "yes"),
        (3, "3"),
        ({"min": 2, "max": 3}, "2-3"),
        ({"min": 2, "max": 2}, "2"),
        (["a", "b"], "a, b"),
    ],
)
def test_saved_values_read_naturally_in_texts(value: object, text: str) -> None:
    assert format_value(value) == text


def test_choices_are_numbered_lines_under_the_text() -> None:
    assert numbered("Which?", ("Often", "Never")) == "Which?\n1. Often\n2. Never"
    assert numbered("Hello.", ()) == "Hello."


def test_identity_translations_keep_the_source_and_use_english_plurals() -> None:
    translator = IdentityTranslations().translator("uk")
    assert translator.language == "uk"
    assert translator.gettext("Hello") == "Hello"
    assert translator.ngettext("{n} week", "{n} weeks", 1) == "{n} week"
    assert translator.ngettext("{n} week", "{n} weeks", 0) == "{n} weeks"
