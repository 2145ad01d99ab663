"""Recognising a global command: (nearly) only the word, in any language; never a sentence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import LANGUAGES
from bot.keywords import Command, command_words, match_command

EVERY_WORD = [
    (language, command, word)
    for language in LANGUAGES
    for command in Command
    for word in command_words(command, language)
]


def test_every_language_has_words_for_every_command() -> None:
    for language in LANGUAGES:
        for command in Command:
            assert command_words(command, language), (language, command)


@pytest.mark.parametrize(("language", "command", "word"), EVERY_WORD)
def test_each_word_is_its_command_for_someone_speaking_its_language(
    language: str, command: Command, word: str
) -> None:
    assert match_command(word, language) is command
    assert match_command(word.upper(), language) is command


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("STOP", Command.STOP),
        ("stop", Command.STOP),
        ("Stop.", Command.STOP),
        ("STOP !!!", Command.STOP),
        ("  stop  ", Command.STOP),
        ("ARRÊT", Command.STOP),
        ("arret", Command.STOP),
        ("Arrêtez", Command.STOP),
        ("STOOOOP", Command.STOP),
        ("stop svp", Command.STOP),
        ("Bonjour, STOP s'il vous plaît", Command.STOP),
        ("STOP 😡", Command.STOP),
        ("/stop", Command.STOP),
        ("/stop@RelaisBot", Command.STOP),
        ("AIDE", Command.HELP),
        ("aide svp", Command.HELP),
        ("HUMAIN", Command.HUMAN),
        ("Parler à quelqu’un", Command.HUMAN),
        ("appelez-moi svp", Command.HUMAN),
        ("LANGUE", Command.LANGUAGE),
        ("oubli", Command.ERASE),
        ("Supprimer mes données", Command.ERASE),
        ("PAUSE", Command.PAUSE),
        ("reprendre", Command.RESUME),
        ("START", Command.START),
        ("Démarrer", Command.START),
        ("please stop", Command.STOP),
        ("توقف", Command.STOP),
        ("ایست", Command.STOP),
        ("СТОП", Command.STOP),
        ("PARAR", Command.STOP),
        ("İPTAL", Command.STOP),
        ("iptal", Command.STOP),
        ("YARDIM", Command.HELP),
        ("yardim", Command.HELP),
        ("لطفا کمک", Command.HELP),
        ("ابدأ", Command.START),
        ("شروع", Command.START),
        ("СТАРТ", Command.START),
        ("COMEÇAR", Command.START),
        ("comecar", Command.START),
        ("BAŞLA", Command.START),
    ],
)
def test_a_command_is_recognised_whatever_its_case_accents_and_courtesy(
    text: str, command: Command
) -> None:
    # Without a language: words of every shipped language count, for anyone.
    assert match_command(text) is command
    assert match_command(text, "fr") is command


@pytest.mark.parametrize(
    "text",
    [
        "je voudrais que ça s'arrête",
        "Je veux arrêter de fumer",
        "stop the check-ins on Monday",
        "arrête de m'écrire le lundi",
        "aide-moi à remplir le dossier",
        "j'ai besoin d'aide",
        "je ne sais pas quelle langue",
        "pause café",
        "STOP STOP",
        "stop merci beaucoup bonjour",
        "merci",
        "svp",
        "",
        "   ",
        "!!!",
        "😡",
        "1",
        "oui",
        "c'est dur",
        "Personne",
    ],
)
def test_a_sentence_or_anything_else_is_not_a_command(text: str) -> None:
    assert match_command(text, "fr") is None


def test_a_word_that_is_ordinary_elsewhere_is_a_command_only_in_its_own_language() -> None:
    # Turkish "dur" (stop) is French for "hard": a French answer must not opt anyone out.
    assert match_command("dur", "fr") is None
    assert match_command("Dur", None) is None
    assert match_command("DUR", "tr") is Command.STOP
    assert match_command("pare", "fr") is None
    assert match_command("pare", "pt") is Command.STOP


def test_a_long_message_is_never_a_command() -> None:
    assert match_command("stop" + " " * 100 + "!") is None


_COURTESY = ["svp", "merci", "please", "bonjour", "لطفا", "будь ласка", "lütfen", "por favor"]
_FILLER = st.sampled_from(["je", "veux", "que", "ça", "the", "check", "ins", "demain", "موعد"])


@given(st.text(max_size=120), st.sampled_from([*LANGUAGES, None]))
def test_matching_never_raises(text: str, language: str | None) -> None:
    assert match_command(text, language) in (None, *Command)


@given(
    st.sampled_from(EVERY_WORD),
    st.lists(_FILLER, min_size=1, max_size=4),
    st.booleans(),
)
def test_a_command_word_inside_a_sentence_is_not_a_command(
    entry: tuple[str, Command, str], others: list[str], before: bool
) -> None:
    language, _command, word = entry
    sentence = " ".join([*others, word] if before else [word, *others])
    assert match_command(sentence, language) is None


@given(
    st.sampled_from(EVERY_WORD),
    st.sampled_from(["", *_COURTESY]),
    st.sampled_from(["", *_COURTESY]),
    st.sampled_from(["", "!", ".", " !!", "?", " 🙏"]),
)
def test_courtesy_and_punctuation_around_a_command_keep_it_a_command(
    entry: tuple[str, Command, str], before: str, after: str, mark: str
) -> None:
    language, command, word = entry
    text = " ".join(part for part in (before, word, after) if part) + mark
    assert match_command(text, language) is command
