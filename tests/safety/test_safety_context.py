"""What made the old scan cry wolf or miss, one test per cause (issue 12).

False alarms came from matching across words and languages, from topic words read
without their context (a denial, the past, a film, a figure of speech); misses from whole
situations, veiled suicide, Latin-script writing and inflections that no lexicon had.
"""

from __future__ import annotations

import pytest

from bot.safety import scan


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Vous pouvez me rappeler ?", "fr"),
        ("rappelez-moi svp", "fr"),
        ("rappel rdv mardi", "fr"),
        ("we agreed on the date", "en"),
        ("We agreed on custody", "en"),
        ("je ne suis pas suicidaire", "fr"),
        ("Je ne suis pas suicidaire, juste fatigué", "fr"),
        ("I used to sleep rough years ago, now I have a flat", "en"),
    ],
)
def test_the_commonest_everyday_messages_raise_nothing(text: str, language: str) -> None:
    assert scan(text, language) is None
    # Whoever writes them: every lexicon reads every message.
    assert scan(text, "ar") is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("rappelle-moi demain", "fr"),  # "rappel" is not "rape*"
        ("on s'est mis d'accord, agreed", "fr"),  # "agreed" is not "agred*"
        ("il faut que j'appelle la CAF", "fr"),
    ],
)
def test_a_pattern_never_reaches_into_a_word_of_another_language(text: str, language: str) -> None:
    assert scan(text, language) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("je suis pas du tout suicidaire", "fr"),
        ("I'm not suicidal, just tired", "en"),
        ("I don't want to die, I want a job", "en"),
        ("não quero morrer, só quero trabalho", "pt"),
        ("intihar edecek değilim, merak etme", "tr"),
        ("я не хочу умирать, просто устала", "uk"),
    ],
)
def test_a_denial_in_the_clause_silences_the_phrase(text: str, language: str) -> None:
    assert scan(text, language) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("je ne veux plus vivre", "fr"),
        ("I don't want to live anymore", "en"),
        ("не хочу жити", "uk"),
        ("não quero mais viver", "pt"),
    ],
)
def test_a_phrase_that_holds_its_own_negation_is_a_statement(text: str, language: str) -> None:
    found = scan(text, language)
    assert found is not None
    assert found.category == "suicide_selfharm"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I was homeless in 2015, now I volunteer", "en"),
        ("j'étais SDF il y a des années, maintenant j'ai un appart", "fr"),
        ("when I was a kid my dad used to hit us", "en"),
    ],
)
def test_past_and_resolved_events_are_not_danger(text: str, language: str) -> None:
    assert scan(text, language) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ce film sur le suicide m'a fait pleurer", "fr"),
        ("un documentaire sur les violences conjugales ce soir à la télé", "fr"),
        ("I watched a documentary about domestic violence", "en"),
    ],
)
def test_films_and_news_are_not_danger(text: str, language: str) -> None:
    assert scan(text, language) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ce taf va me tuer", "fr"),
        ("this exam will kill me", "en"),
        ("هذا الامتحان سيقتلني", "ar"),
        ("цей іспит мене вб'є", "uk"),
        ("bu sınav beni öldürecek", "tr"),
    ],
)
def test_a_thing_that_kills_is_a_figure_of_speech(text: str, language: str) -> None:
    assert scan(text, language) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("mon mari va me tuer", "fr"),
        ("my husband will kill me", "en"),
    ],
)
def test_a_person_who_threatens_to_kill_still_counts(text: str, language: str) -> None:
    found = scan(text, language)
    assert found is not None
    assert found.category == "violence_abuse"


@pytest.mark.parametrize(
    ("text", "language", "category"),
    [
        ("ma mère est tombée et n'arrive pas à se relever", "fr", "medical_emergency"),
        ("il a la bouche de travers et parle bizarre", "fr", "medical_emergency"),
        ("il m'a pris mes papiers et m'enferme", "fr", "violence_abuse"),
        ("au secours", "fr", "cry_for_help"),
        ("help me", "en", "cry_for_help"),
        ("imdat", "tr", "cry_for_help"),
        ("socorro", "pt", "cry_for_help"),
        ("помогите", "uk", "cry_for_help"),
    ],
)
def test_situations_no_lexicon_had_are_found(text: str, language: str, category: str) -> None:
    found = scan(text, language)
    assert found is not None
    assert found.category == category


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("j'ai écrit une lettre à chacun, vous comprendrez demain", "fr"),
        ("tout le monde sera mieux sans moi", "fr"),
        ("can you look after my dog, I won't need him anymore", "en"),
    ],
)
def test_veiled_farewells_are_a_concern(text: str, language: str) -> None:
    found = scan(text, language)
    assert found is not None
    assert (found.category, found.level) == ("concern", "concern")


@pytest.mark.parametrize(
    ("text", "language", "lexicon"),
    [
        ("bghit nmout", "ar", "ar_latn"),
        ("mekhaham bemiram", "fa_AF", "fa_latn"),
        ("hochu umeret", "uk", "ru_latn"),
        ("хочу умереть", "uk", "ru"),
    ],
)
def test_latin_script_writing_and_russian_are_read(text: str, language: str, lexicon: str) -> None:
    found = scan(text, language)
    assert found is not None
    assert (found.category, found.language) == ("suicide_selfharm", lexicon)


def test_a_clause_ends_at_a_full_stop_so_a_denial_does_not_reach_across() -> None:
    assert scan("Non. Je veux mourir", "fr") is not None


@pytest.mark.parametrize(
    ("text", "language"),
    [("à l'aide", "fr"), ("help me", "en"), ("کمک", "fa_AF"), ("imdat", "tr"), ("socorro", "pt")],
)
def test_a_help_word_that_is_a_cry_for_help_gets_the_emergency_reply_first(
    text: str, language: str
) -> None:
    # These are also HELP commands; danger is read first, so the person gets every
    # emergency number and a person from the team, not the association's description.
    found = scan(text, language)
    assert found is not None
    assert found.category == "cry_for_help"
