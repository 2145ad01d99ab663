from __future__ import annotations

import datetime
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.engine.answers import (
    ChoiceOption,
    fold,
    match_choice,
    normalise_digits,
    parse_date,
    parse_int,
    parse_phone,
    parse_postcode,
    parse_range,
    parse_yes_no,
)

LANGUAGES = ("fr", "en", "ar", "fa_AF", "uk", "pt", "tr")
TODAY = datetime.date(2026, 3, 10)

# ----------------------------------------------------------------------------- fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("OUI", "oui"),
        ("  «Oui» !! ", "oui"),
        ("Élève  à\tl'école", "eleve a l'ecole"),
        ("j’ai", "j'ai"),
        ("cœur", "coeur"),
        ("Não", "nao"),
        ("HAYIR", "hayir"),
        ("نَعَمْ", "نعم"),  # harakat
        ("نعـــم", "نعم"),  # tatweel
        ("أوكي", "اوکی"),  # hamza on alef; Arabic kaf and yeh read as Persian ones
        ("آره", "اره"),  # madda
        ("علي", "علی"),  # Arabic and Persian yeh are the same letter to a reader
        ("نمی\u200cدانم", "نمیدانم"),  # ZWNJ
        ("\u2066+33 6\u2069", "+33 6"),  # bidi isolates copied back from our own message
        # Ukrainian and Russian spellings of one sound are one letter (і, и, ы).
        ("Ї", "и"),
        ("1️⃣", "1"),
        ("...", ""),
    ],
)
def test_fold_compares_text_the_way_people_read_it(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_letters_of_every_script() -> None:
    assert fold("Так, дякую") == "так, дякую"
    assert fold("ممنون") == "ممنون"


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_normalise_digits_turns_arabic_and_persian_digits_into_ascii() -> None:
    assert normalise_digits("٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹") == "0123456789 0123456789"
    assert normalise_digits("j'ai ٤٥ ans") == "j'ai 45 ans"


@given(st.text())
def test_normalise_digits_is_idempotent(text: str) -> None:
    assert normalise_digits(normalise_digits(text)) == normalise_digits(text)


# ------------------------------------------------------------------------------ yes/no


@pytest.mark.parametrize(
    ("language", "yes", "no"),
    [
        ("fr", ["oui", "Ouais", "OUI !", "d'accord", "bien sûr"], ["non", "nan", "Non."]),
        ("en", ["yes", "Y", "yeah", "sure", "of course"], ["no", "N", "nope"]),
        ("ar", ["نعم", "ايوه", "أيوه", "نَعَم"], ["لا", "لأ", "كلا"]),
        ("fa_AF", ["بله", "آره", "بلی"], ["نه", "خیر", "نخیر"]),
        ("uk", ["так", "Так", "да"], ["ні", "нет", "нi"]),
        ("pt", ["sim", "Sim!", "claro"], ["não", "nao", "NÃO"]),
        ("tr", ["evet", "Evet", "tamam"], ["hayır", "hayir", "HAYIR", "yok"]),
    ],
)
def test_parse_yes_no_understands_each_language(
    language: str, yes: list[str], no: list[str]
) -> None:
    assert [parse_yes_no(t, language) for t in yes] == [True] * len(yes)
    assert [parse_yes_no(t, language) for t in no] == [False] * len(no)


@pytest.mark.parametrize("language", LANGUAGES)
def test_parse_yes_no_falls_back_to_french_and_english_for_everyone(language: str) -> None:
    assert parse_yes_no("oui", language) is True
    assert parse_yes_no("yes", language) is True
    assert parse_yes_no("non", language) is False
    assert parse_yes_no("no", language) is False
    assert parse_yes_no("👍", language) is True
    assert parse_yes_no("👍🏽", language) is True


def test_parse_yes_no_does_not_read_other_languages_words_outside_the_fallbacks() -> None:
    assert parse_yes_no("evet", "fr") is None
    assert parse_yes_no("evet", "tr") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("non merci", False),
        ("oui mais pas tout de suite", True),
        ("Oui, pas de souci", True),
        ("euh oui", True),
        ("je crois que non", False),
        ("no thanks", False),
        ("non non non", False),
    ],
)
def test_parse_yes_no_reads_the_answer_in_a_sentence(text: str, expected: bool) -> None:
    assert parse_yes_no(text, "fr") is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "peut-être",
        "je sais pas",
        "oui non",
        "no, yes",
        "not sure",
        "pas d'accord",
        "bonjour",
        "il n'y a pas",  # elisions are not the single-letter answers "n" and "y"
        "42",
    ],
)
def test_parse_yes_no_returns_none_when_the_answer_is_unclear(text: str) -> None:
    assert parse_yes_no(text, "fr") is None


def test_parse_yes_no_unsure_words_in_other_languages_are_not_answers() -> None:
    assert parse_yes_no("não sei", "pt") is None
    assert parse_yes_no("نمی‌دانم", "fa_AF") is None
    assert parse_yes_no("не знаю", "uk") is None


def test_parse_yes_no_accepts_an_unknown_language_with_the_fallbacks() -> None:
    assert parse_yes_no("oui", "de") is True
    assert parse_yes_no("ja", "de") is None


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45", 45),
        (" 45 ", 45),
        ("j'ai 45 ans", 45),
        ("٤٥", 45),
        ("۴۵ سال", 45),
        ("45ans", 45),
        ("0", 0),
        ("-3", -3),
        ("1 000", 1000),
        ("n°3", 3),
    ],
)
def test_parse_int_reads_one_number_among_words(text: str, expected: int) -> None:
    assert parse_int(text) == expected


@pytest.mark.parametrize(
    "text", ["", "quarante", "45 ou 46", "2-3", "4,5", "4.5", "06 39 98 12 34", "9" * 40]
)
def test_parse_int_rejects_no_number_two_numbers_or_decimals(text: str) -> None:
    assert parse_int(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2-3", (2, 3)),
        ("2 - 3", (2, 3)),
        ("2–3", (2, 3)),
        ("2 à 3", (2, 3)),
        ("2 a 3 heures", (2, 3)),
        ("2 to 3", (2, 3)),
        ("entre 2 et 3", (2, 3)),
        ("between 2 and 3", (2, 3)),
        ("۲ تا ۳", (2, 3)),
        ("من ٢ إلى ٣", (2, 3)),
        ("від 2 до 3", (2, 3)),
        ("2 ile 3 arası", (2, 3)),
        ("4", (4, 4)),
        ("environ 10 ans", (10, 10)),
        ("5 à 2", (2, 5)),
    ],
)
def test_parse_range_reads_a_number_or_a_range(text: str, expected: tuple[int, int]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["", "beaucoup", "2/3", "2 enfants et 3 chats", "1 2 3"])
def test_parse_range_rejects_what_is_not_a_range(text: str) -> None:
    assert parse_range(text) is None


# ------------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14/07", datetime.date(2026, 7, 14)),
        ("25/12/2026", datetime.date(2026, 12, 25)),
        ("25-12-26", datetime.date(2026, 12, 25)),
        ("25.12.2026", datetime.date(2026, 12, 25)),
        ("2026-12-25", datetime.date(2026, 12, 25)),
        ("1/2/2027", datetime.date(2027, 2, 1)),  # day first, always
        ("le 14/07 svp", datetime.date(2026, 7, 14)),
        ("٢٥/١٢/٢٠٢٦", datetime.date(2026, 12, 25)),
        ("12/05/85", datetime.date(1985, 5, 12)),
        ("14 juillet", datetime.date(2026, 7, 14)),
        ("1er janvier 2027", datetime.date(2027, 1, 1)),
    ],
)
def test_parse_date_reads_day_first_numeric_dates(text: str, expected: datetime.date) -> None:
    assert parse_date(text, "fr", TODAY) == expected


def test_parse_date_without_a_year_picks_the_closest_date() -> None:
    assert parse_date("25/12", "fr", TODAY) == datetime.date(2025, 12, 25)
    new_years_eve = datetime.date(2025, 12, 30)
    assert parse_date("02/01", "fr", new_years_eve) == datetime.date(2026, 1, 2)
    assert parse_date("28/12", "fr", datetime.date(2026, 1, 2)) == datetime.date(2025, 12, 28)


@pytest.mark.parametrize(
    ("language", "text", "days"),
    [
        ("fr", "aujourd'hui", 0),
        ("fr", "Demain !", 1),
        ("fr", "hier", -1),
        ("fr", "après-demain", 2),
        ("en", "tomorrow", 1),
        ("ar", "غداً", 1),
        ("ar", "بكرة", 1),
        ("ar", "أمس", -1),
        ("fa_AF", "فردا", 1),
        ("fa_AF", "دیروز", -1),
        ("uk", "сьогодні", 0),
        ("uk", "завтра", 1),
        ("pt", "amanhã", 1),
        ("pt", "ontem", -1),
        ("tr", "yarın", 1),
        ("tr", "bugün", 0),
        ("tr", "demain", 1),  # French fallback
    ],
)
def test_parse_date_understands_relative_days_per_language(
    language: str, text: str, days: int
) -> None:
    assert parse_date(text, language, TODAY) == TODAY + datetime.timedelta(days=days)


@pytest.mark.parametrize(
    "text", ["", "bientôt", "31/02", "12/25", "25/12 ou 26/12", "demain ou hier", "demain 25/12"]
)
def test_parse_date_rejects_impossible_or_several_dates(text: str) -> None:
    assert parse_date(text, "fr", TODAY) is None


# ----------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    "text",
    [
        "06 39 98 12 34",
        "0639981234",
        "06.39.98.12.34",
        "06-39-98-12-34",
        "+33 6 39 98 12 34",
        "+33639981234",
        "0033 6 39 98 12 34",
        "+33 (0)6 39 98 12 34",
        "+33 06 39 98 12 34",
        "۰۶ ۳۹ ۹۸ ۱۲ ۳۴",
        "mon numéro : 06 39 98 12 34 merci",
        "6 39 98 12 34",
    ],
)
def test_parse_phone_reads_french_numbers_as_e164(text: str) -> None:
    assert parse_phone(text) == "+33639981234"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01 23 45 67 89", "+33123456789"),
        ("09 72 39 40 50", "+33972394050"),
        ("07 11 22 33 44", "+33711223344"),
        ("+44 7911 123456", "+447911123456"),
        ("+380 50 123 4567", "+380501234567"),
        ("0093 70 123 4567", "+93701234567"),
    ],
)
def test_parse_phone_reads_other_french_and_international_numbers(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "114",
        "3114",
        "08 00 47 47 88",  # special-rate numbers cannot receive SMS
        "06 39 98 12",
        "06 39 98 12 34 56",
        "+1234567",
        "+123456789012345678",
        "06 39 98 12 34 ou 07 11 22 33 44",
    ],
)
def test_parse_phone_rejects_junk(text: str) -> None:
    assert parse_phone(text) is None


def test_parse_phone_uses_the_default_region_for_national_numbers() -> None:
    assert parse_phone("0470 12 34 56", default_region="BE") == "+32470123456"


def test_parse_phone_refuses_an_unknown_region() -> None:
    with pytest.raises(ValueError, match="XX"):
        parse_phone("0612345678", default_region="XX")


# -------------------------------------------------------------------------- postcodes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("75011", "75011"),
        ("75 011", "75011"),
        ("20000", "20000"),
        ("2A004", "2A004"),
        ("2b100", "2B100"),
        ("97400", "97400"),
        ("٧٥٠١١", "75011"),
        ("J'habite au 12 rue de la Paix, 75011 Paris", "75011"),
        ("01000", "01000"),
    ],
)
def test_parse_postcode_reads_french_postcodes(text: str, expected: str) -> None:
    assert parse_postcode(text) == expected


@pytest.mark.parametrize(
    "text", ["", "Paris", "75", "7501", "750111", "00100", "96000", "99000", "75011 ou 75012"]
)
def test_parse_postcode_rejects_what_is_not_one_postcode(text: str) -> None:
    assert parse_postcode(text) is None


# ---------------------------------------------------------------------------- choices

LONELY = [
    ChoiceOption(1, "Often or always", ("often, always",)),
    ChoiceOption(2, "Some of the time"),
    ChoiceOption(3, "Occasionally"),
    ChoiceOption(4, "Hardly ever"),
    ChoiceOption(5, "Never"),
]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("1", 0),
        ("1.", 0),
        ("1)", 0),
        ("n°1", 0),
        ("N° 5", 4),
        ("option 2", 1),
        ("#3", 2),
        ("٣", 2),
        ("۴", 3),
        ("1️⃣", 0),
    ],
)
def test_match_choice_matches_by_number_in_any_script(text: str, index: int) -> None:
    assert match_choice(text, LONELY) == index


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("Some of the time", 1),
        ("some of the time!", 1),
        ("HARDLY EVER", 3),
        ("always", 0),
        ("Often.", 0),
        ("I'd say never", 4),
        ("always, sadly", 0),
    ],
)
def test_match_choice_matches_by_label_or_keyword(text: str, index: int) -> None:
    assert match_choice(text, LONELY) == index


@pytest.mark.parametrize("text", ["", "6", "0", "1 2", "often never", "whatever", "ever"])
def test_match_choice_returns_none_when_nothing_or_several_options_match(text: str) -> None:
    assert match_choice(text, LONELY) is None


def test_match_choice_ignores_accents_and_case_in_labels() -> None:
    options = [ChoiceOption(1, "Français"), ChoiceOption(2, "العربية"), ChoiceOption(3, "دری")]
    assert match_choice("francais", options) == 0
    assert match_choice("العربیة", options) == 1
    assert match_choice("دري", options) == 2


def test_match_choice_prefers_a_whole_label_over_an_option_number() -> None:
    children = [ChoiceOption(1, "0"), ChoiceOption(2, "1"), ChoiceOption(3, "2 or more")]
    assert match_choice("1", children) == 1
    assert match_choice("3", children) == 2


def test_match_choice_splits_a_translated_keyword_list() -> None:
    options = [ChoiceOption(1, "Souvent", ("souvent, toujours",)), ChoiceOption(2, "Jamais")]
    assert match_choice("toujours", options) == 0


def test_match_choice_without_options_matches_nothing() -> None:
    assert match_choice("1", []) is None


# ------------------------------------------------------------------------- properties


@given(st.text(), st.sampled_from(LANGUAGES), st.dates())
def test_no_parser_raises_on_arbitrary_text(text: str, language: str, today: datetime.date) -> None:
    parse_yes_no(text, language)
    parse_int(text)
    parse_range(text)
    parse_date(text, language, today)
    parse_phone(text)
    parse_postcode(text)
    match_choice(text, LONELY)


# Text made of what phone numbers are made of, so the property reaches the E.164 branch.
phone_like = st.text(alphabet="+0123456789 .-()٠١٢٣٤۵۶", max_size=30)


@given(st.one_of(st.text(), phone_like))
def test_parse_phone_only_returns_e164(text: str) -> None:
    phone = parse_phone(text)
    assert phone is None or re.fullmatch(r"\+[1-9]\d{7,14}", phone)


@given(st.one_of(st.text(), st.text(alphabet="0123456789- àet", max_size=20)))
def test_parse_range_returns_min_then_max(text: str) -> None:
    found = parse_range(text)
    assert found is None or found[0] <= found[1]
