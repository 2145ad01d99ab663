"""The answers to commands: translated everywhere, 2 SMS at most, naming words we recognise."""

from __future__ import annotations

import pytest

from bot import keyword_texts
from bot.engine.answers import parse_yes_no
from bot.engine.text import for_language
from bot.i18n import LANGUAGES, SOURCE_LANGUAGE
from bot.keywords import Command, match_command
from bot.runtime import shipped_runtime
from bot.sms import describe, segments

# The command words each translation tells people to send, and what they must mean.
MENTIONED: dict[str, dict[str, Command]] = {
    "fr": {"START": Command.START, "HUMAIN": Command.HUMAN, "PAUSE": Command.PAUSE,
           "REPRENDRE": Command.RESUME},
    "en": {"START": Command.START, "HUMAN": Command.HUMAN, "PAUSE": Command.PAUSE,
           "RESUME": Command.RESUME},
    "ar": {"START": Command.START, "شخص": Command.HUMAN, "PAUSE": Command.PAUSE,
           "استئناف": Command.RESUME},
    "fa_AF": {"START": Command.START, "شخص": Command.HUMAN, "PAUSE": Command.PAUSE,
              "ادامه": Command.RESUME},
    "uk": {"START": Command.START, "ЛЮДИНА": Command.HUMAN, "ПАУЗА": Command.PAUSE,
           "ПРОДОВЖИТИ": Command.RESUME},
    "pt": {"START": Command.START, "PESSOA": Command.HUMAN, "PAUSA": Command.PAUSE,
           "RETOMAR": Command.RESUME},
    "tr": {"START": Command.START, "İNSAN": Command.HUMAN, "DURAKLAT": Command.PAUSE,
           "DEVAM": Command.RESUME},
}  # fmt: skip
# How each translation of ERASE_CONFIRM says yes and no.
YES_NO = {
    "fr": ("OUI", "NON"),
    "en": ("YES", "NO"),
    "ar": ("نعم", "لا"),
    "fa_AF": ("بلی", "نه"),
    "uk": ("ТАК", "НІ"),
    "pt": ("SIM", "NÃO"),
    "tr": ("EVET", "HAYIR"),
}


def _sent(text: str, language: str) -> str:
    translated = shipped_runtime().catalogs.translator(language).gettext(text)
    return for_language(translated, language)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
@pytest.mark.parametrize("text", keyword_texts.ALL)
def test_every_answer_is_translated(text: str, language: str) -> None:
    assert shipped_runtime().catalogs.translator(language).gettext(text) != text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("text", keyword_texts.ALL)
def test_every_answer_fits_in_two_sms(text: str, language: str) -> None:
    count = segments(_sent(text, language))
    assert count.segments <= 2, f"{language}: {describe(count)}: {_sent(text, language)}"


@pytest.mark.parametrize("text", keyword_texts.ALL)
def test_french_answers_stay_in_the_cheap_sms_alphabet(text: str) -> None:
    # One curly apostrophe or "ê" would switch a French SMS to UCS-2 and double its cost.
    assert segments(_sent(text, "fr")).encoding == "GSM-7", _sent(text, "fr")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_words_the_answers_mention_are_the_commands_they_name(language: str) -> None:
    sent = " ".join(_sent(text, language) for text in keyword_texts.ALL)
    for word, command in MENTIONED[language].items():
        assert word in sent, (language, word)
        assert match_command(word, language) is command, (language, word)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_erase_question_names_a_yes_and_a_no_we_understand(language: str) -> None:
    question = _sent(keyword_texts.ERASE_CONFIRM, language)
    yes, no = YES_NO[language]
    assert yes in question
    assert no in question
    assert parse_yes_no(yes, language) is True
    assert parse_yes_no(no, language) is False
