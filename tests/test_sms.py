from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sms import SmsCount, describe, render_sms, segments


def test_an_empty_text_is_no_sms() -> None:
    assert segments("") == SmsCount("GSM-7", 0, 0)


def test_plain_ascii_is_gsm7_one_unit_per_character() -> None:
    assert segments("Hello") == SmsCount("GSM-7", 5, 1)


@pytest.mark.parametrize("char", ["é", "è", "ù", "à", "É", "Ç", "ì", "ò", "ñ", "ü", "ß", "£", "@"])
def test_these_accented_and_special_characters_are_gsm7(char: str) -> None:
    assert segments(f"Merci {char}") == SmsCount("GSM-7", 7, 1)


@pytest.mark.parametrize("char", ["ê", "â", "î", "ô", "û", "ç", "œ", "’", "«", "É\u0301"])
def test_one_character_outside_gsm7_switches_the_whole_text_to_ucs2(char: str) -> None:
    assert segments(f"Merci {char}").encoding == "UCS-2"


def test_a_curly_apostrophe_more_than_halves_what_one_sms_holds() -> None:
    straight = "J'ai " + "a" * 100
    curly = "J’ai " + "a" * 100
    assert segments(straight) == SmsCount("GSM-7", 105, 1)
    assert segments(curly) == SmsCount("UCS-2", 105, 2)


@pytest.mark.parametrize("char", ["€", "^", "{", "}", "\\", "[", "~", "]", "|", "\f"])
def test_extension_characters_count_twice_in_gsm7(char: str) -> None:
    assert segments(f"5 {char}") == SmsCount("GSM-7", 4, 1)


@pytest.mark.parametrize("text", ["نعم", "بله", "Так", "Привіт", "你好"])
def test_arabic_dari_and_cyrillic_are_always_ucs2(text: str) -> None:
    assert segments(text) == SmsCount("UCS-2", len(text), 1)


def test_emoji_take_two_utf16_units() -> None:
    assert segments("👍") == SmsCount("UCS-2", 2, 1)
    assert segments("ok 👍🏽") == SmsCount("UCS-2", 7, 1)


def test_extension_characters_count_once_in_ucs2() -> None:
    assert segments("€ ê") == SmsCount("UCS-2", 3, 1)


@pytest.mark.parametrize(
    ("length", "parts"), [(160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_holds_160_in_one_sms_then_153_per_part(length: int, parts: int) -> None:
    assert segments("a" * length) == SmsCount("GSM-7", length, parts)


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3)])
def test_ucs2_holds_70_in_one_sms_then_67_per_part(length: int, parts: int) -> None:
    assert segments("ê" * length) == SmsCount("UCS-2", length, parts)


def test_an_escape_pair_is_never_split_across_two_parts() -> None:
    # 152 plain characters then a euro sign: the euro's two units do not fit in part one.
    text = "a" * 152 + "€" + "a" * 152
    assert segments(text) == SmsCount("GSM-7", 306, 3)


def test_an_emoji_is_never_split_across_two_parts() -> None:
    text = "ê" * 66 + "👍" + "ê" * 66
    assert segments(text) == SmsCount("UCS-2", 134, 3)


def test_a_euro_sign_at_160_units_overflows_one_sms() -> None:
    assert segments("a" * 158 + "€") == SmsCount("GSM-7", 160, 1)
    assert segments("a" * 159 + "€") == SmsCount("GSM-7", 161, 2)


@given(st.text())
def test_segments_never_undercount_the_division_rule(text: str) -> None:
    count = segments(text)
    single, per_part = (160, 153) if count.encoding == "GSM-7" else (70, 67)
    if count.units <= single:
        assert count.segments == (1 if count.units else 0)
    else:
        assert count.segments >= -(-count.units // per_part)


def test_render_sms_puts_numbered_choices_one_per_line_after_the_prompt() -> None:
    rendered = render_sms("How often do you feel lonely?", ["Often or always", "Never"])
    assert rendered == "How often do you feel lonely?\n1. Often or always\n2. Never"


def test_render_sms_without_choices_is_the_text() -> None:
    assert render_sms("Hello", []) == "Hello"


def test_describe_says_segments_encoding_and_units() -> None:
    assert describe(SmsCount("UCS-2", 98, 2)) == "2 SMS (UCS-2, 98 units)"
    assert describe(SmsCount("GSM-7", 1, 1)) == "1 SMS (GSM-7, 1 unit)"
