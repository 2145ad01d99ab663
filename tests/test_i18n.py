from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from bot.flowtexts import FlowText, extract_flows, iter_flow_texts
from bot.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    RTL_LANGUAGES,
    CatalogError,
    Catalogs,
    Problem,
    check_catalogs,
    language_name,
    negotiate,
    shipped_language,
)

REPO = Path(__file__).resolve().parent.parent

PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "en": "nplurals=2; plural=(n != 1);",
    "ar": (
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
        ": n%100>=11 ? 4 : 5);"
    ),
    "uk": (
        "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 "
        "&& (n%100<10 || n%100>=20) ? 1 : 2);"
    ),
}


def write_po(locales: Path, language: str, entries: str, domain: str = "flows") -> Path:
    """Write a small catalog: a header with the language's plural rule, then ``entries``."""
    path = locales / language / "LC_MESSAGES" / f"{domain}.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    plural_forms = PLURAL_FORMS.get(language, "nplurals=2; plural=(n != 1);")
    header = (
        'msgid ""\nmsgstr ""\n'
        f'"Language: {language}\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n'
        f'"Plural-Forms: {plural_forms}\\n"\n\n'
    )
    path.write_text(header + entries, encoding="utf-8")
    return path


# ------------------------------------------------------------------------ languages


def test_shipped_languages_start_with_the_default() -> None:
    assert LANGUAGES == ("fr", "en", "ar", "fa_AF", "uk", "pt", "tr")
    assert DEFAULT_LANGUAGE == "fr"
    assert sorted(RTL_LANGUAGES) == ["ar", "fa_AF"]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("fr", "Français"),
        ("en", "English"),
        ("ar", "العربية"),
        ("fa_AF", "دری"),
        ("uk", "Українська"),
        ("pt", "Português"),
        ("tr", "Türkçe"),
    ],
)
def test_language_name_names_each_language_in_itself(code: str, name: str) -> None:
    assert language_name(code) == name


def test_language_name_of_another_language_comes_from_babel_or_is_the_code() -> None:
    assert language_name("de") == "Deutsch"
    assert language_name("not a language") == "not a language"


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("fr", "fr"),
        ("pt-BR", "pt"),
        ("pt_br", "pt"),
        ("uk", "uk"),
        ("ar-MA", "ar"),
        ("fa", "fa_AF"),
        ("prs", "fa_AF"),
        ("fa-IR", "fa_AF"),
        ("fa_AF", "fa_AF"),
        ("fa-af", "fa_AF"),
        ("EN-gb", "en"),
        ("tr-TR", "tr"),
        ("zh-Hans-CN", None),
        ("ru", None),
        ("", None),
        ("-", None),
        (None, None),
    ],
)
def test_shipped_language_maps_channel_tags_to_shipped_codes(
    tag: str | None, language: str | None
) -> None:
    assert shipped_language(tag) == language


def test_negotiate_prefers_the_persons_choice_then_the_hint_then_the_default() -> None:
    assert negotiate("ar", "pt-BR", "fr") == "ar"
    assert negotiate(None, "pt-BR", "fr") == "pt"
    assert negotiate(None, "prs", "fr") == "fa_AF"
    assert negotiate(None, None, "en") == "en"
    assert negotiate(None, "de-DE", "fr") == "fr"


def test_negotiate_skips_an_unshipped_choice_and_a_bad_default() -> None:
    assert negotiate("de", "uk", "fr") == "uk"
    assert negotiate(None, None, "xx") == DEFAULT_LANGUAGE


# ------------------------------------------------------------------------- catalogs


def test_a_translator_returns_the_translation_and_ignores_fuzzy_and_empty_entries(
    tmp_path: Path,
) -> None:
    write_po(
        tmp_path,
        "fr",
        'msgid "Hello"\nmsgstr "Bonjour"\n\n'
        '#, fuzzy\nmsgid "Goodbye"\nmsgstr "Au revoir ?"\n\n'
        'msgid "Never"\nmsgstr ""\n',
    )
    fr = Catalogs.load(tmp_path).translator("fr")
    assert fr.language == "fr"
    assert fr.gettext("Hello") == "Bonjour"
    assert fr.gettext("Goodbye") == "Goodbye"
    assert fr.gettext("Never") == "Never"
    assert fr.gettext("Not in the catalog") == "Not in the catalog"


def test_a_language_without_a_catalog_file_gets_the_english_source(tmp_path: Path) -> None:
    catalogs = Catalogs.load(tmp_path)
    assert catalogs.languages == LANGUAGES
    assert catalogs.translator("tr").gettext("Hello") == "Hello"
    assert catalogs.translator("de").ngettext("{count} week", "{count} weeks", 2) == (
        "{count} weeks"
    )


def test_ngettext_follows_the_plural_rules_of_the_language(tmp_path: Path) -> None:
    write_po(
        tmp_path,
        "fr",
        'msgid "{count} week"\nmsgid_plural "{count} weeks"\n'
        'msgstr[0] "{count} semaine"\nmsgstr[1] "{count} semaines"\n',
    )
    write_po(
        tmp_path,
        "uk",
        'msgid "{count} week"\nmsgid_plural "{count} weeks"\n'
        'msgstr[0] "{count} тиждень"\nmsgstr[1] "{count} тижні"\nmsgstr[2] "{count} тижнів"\n',
    )
    write_po(
        tmp_path,
        "ar",
        'msgid "{count} week"\nmsgid_plural "{count} weeks"\n'
        'msgstr[0] "لا أسابيع"\nmsgstr[1] "أسبوع"\nmsgstr[2] "أسبوعان"\n'
        'msgstr[3] "{count} أسابيع"\nmsgstr[4] "{count} أسبوعًا"\nmsgstr[5] "{count} أسبوع"\n',
    )
    catalogs = Catalogs.load(tmp_path)
    fr, uk, ar = (catalogs.translator(lang) for lang in ("fr", "uk", "ar"))
    week, weeks = "{count} week", "{count} weeks"
    assert [fr.ngettext(week, weeks, n) for n in (0, 1, 2)] == [
        "{count} semaine",
        "{count} semaine",
        "{count} semaines",
    ]
    assert [uk.ngettext(week, weeks, n) for n in (1, 3, 5, 11, 21)] == [
        "{count} тиждень",
        "{count} тижні",
        "{count} тижнів",
        "{count} тижнів",
        "{count} тиждень",
    ]
    assert [ar.ngettext(week, weeks, n) for n in (0, 1, 2, 3, 11, 100)] == [
        "لا أسابيع",
        "أسبوع",
        "أسبوعان",
        "{count} أسابيع",
        "{count} أسبوعًا",
        "{count} أسبوع",
    ]


def test_ngettext_falls_back_to_english_forms_when_untranslated(tmp_path: Path) -> None:
    write_po(tmp_path, "pt", 'msgid "{count} week"\nmsgid_plural "{count} weeks"\n'
             'msgstr[0] "{count} semana"\nmsgstr[1] ""\n')  # fmt: skip
    pt = Catalogs.load(tmp_path).translator("pt")
    assert pt.ngettext("{count} week", "{count} weeks", 1) == "{count} week"
    assert pt.ngettext("{count} week", "{count} weeks", 4) == "{count} weeks"


def test_a_broken_catalog_stops_loading_and_names_the_file(tmp_path: Path) -> None:
    path = write_po(tmp_path, "tr", 'msgid "Hello"\nthis is not a catalog\n')
    with pytest.raises(CatalogError, match=str(path)):
        Catalogs.load(tmp_path)


def test_catalogs_can_load_another_domain_and_fewer_languages(tmp_path: Path) -> None:
    write_po(tmp_path, "fr", 'msgid "Claim"\nmsgstr "Prendre"\n', domain="dashboard")
    catalogs = Catalogs.load(tmp_path, domain="dashboard", languages=("fr",))
    assert catalogs.languages == ("fr",)
    assert catalogs.translator("fr").gettext("Claim") == "Prendre"


# ------------------------------------------------------------------------ extraction

FLOW = """\
flow: weekly_checkin
description: Weekly wellbeing check-in.
start: lonely

steps:
  lonely:
    ask_choice: How often do you feel lonely?
    options:
      often:      {label: Often or always, keywords: "often, always"}
      never:      Never
    save: results.loneliness
    timeouts:
      - after: 24h
        say: Just checking in.
      - after: 72h
        goto: missed
    next: weeks

  weeks:
    say: {one: "{count} week", other: "{count} weeks", count: results.weeks}
    sms_segments: 1
    next: language

  language:
    ask_choice: Which language?
    invalid: |
      Please answer with a number.
    options:
      fr: {label: Français, translate: false}
      ar: {label: العربية, translate: false, keywords: "arabic"}
    save: contact.language
    next: mood

  mood:
    ask_scale: How do you feel today?
    from: 1
    to: 5
    labels: {1: Very bad, 5: Very good}
    next: call_case

  call_case:
    open_case: {queue: checkins, priority: high, reason: asked, summary: "Not for people."}
    next: missed

  missed:
    end: missed
"""


Extracted = tuple[int, str | None, str | tuple[str, str], list[str]]


def extracted(source: str, name: str = "flows/weekly_checkin.yaml") -> list[Extracted]:
    fileobj = io.BytesIO(source.encode())
    fileobj.name = name
    return list(extract_flows(fileobj, ("ngettext",), (), {}))


def test_extract_flows_yields_every_text_a_person_receives_with_its_line() -> None:
    found = [(line, funcname, message) for line, funcname, message, _ in extracted(FLOW)]
    assert found == [
        (7, None, "How often do you feel lonely?"),
        (9, None, "Often or always"),
        (9, None, "often, always"),
        (10, None, "Never"),
        (14, None, "Just checking in."),
        (20, "ngettext", ("{count} week", "{count} weeks")),
        (25, None, "Which language?"),
        (26, None, "Please answer with a number.\n"),
        (35, None, "How do you feel today?"),
        (38, None, "Very bad"),
        (38, None, "Very good"),
    ]


def test_extract_flows_tells_translators_the_step_and_the_sms_budget() -> None:
    comments = {message: comments for _, _, message, comments in extracted(FLOW)}
    assert comments["How often do you feel lonely?"] == [
        "step: lonely",
        "keep it short: sent by SMS (at most 3 SMS)",
    ]
    assert comments[("{count} week", "{count} weeks")] == [
        "step: weeks",
        "keep it short: sent by SMS (at most 1 SMS)",
    ]
    assert comments["often, always"] == [
        "step: lonely",
        "comma-separated words people may answer with",
    ]
    assert comments["Never"][1].startswith("keep it short: sent by SMS")


def test_extract_flows_keeps_options_with_translate_false_as_written() -> None:
    messages = {message for _, _, message, _ in extracted(FLOW)}
    assert not messages & {"Français", "العربية", "arabic"}


def test_extract_flows_skips_the_safety_lexicon_and_other_non_flows() -> None:
    lexicon = "helplines:\n  - number: '3114'\n    say: Call 3114\nsteps: {}\n"
    assert extracted(lexicon, "flows/safety.yaml") == []
    assert extracted("", "flows/empty.yaml") == []
    assert extracted("- a list\n", "flows/list.yaml") == []


def test_iter_flow_texts_gives_questions_their_choices() -> None:
    texts = {t.msgid: t for t in iter_flow_texts(FLOW, "flows/weekly_checkin.yaml")}
    assert texts["How often do you feel lonely?"].choices == ("Often or always", "Never")
    assert texts["Which language?"].choices == ("Français", "العربية")
    assert texts["Just checking in."].choices == ("Often or always", "Never")  # a reminder
    assert texts["Please answer with a number.\n"].choices == ()
    assert texts["How do you feel today?"].choices == ("Very bad", "Very good")
    assert texts["{count} week"].plural == "{count} weeks"
    assert texts["{count} week"].sms_segments == 1
    assert texts["Never"].sms_segments is None  # counted with its question


def test_babel_cfg_extracts_flows_and_engine_defaults_but_not_safety_or_dashboard(
    tmp_path: Path,
) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "weekly_checkin.yaml").write_text(FLOW, encoding="utf-8")
    (tmp_path / "flows" / "safety.yaml").write_text("flow: x\nsteps: {a: {say: Hi}}\n")
    (tmp_path / "bot" / "engine").mkdir(parents=True)
    (tmp_path / "bot" / "engine" / "defaults.py").write_text('N_("Sorry, I did not understand.")\n')
    (tmp_path / "bot" / "dashboard").mkdir()
    (tmp_path / "bot" / "dashboard" / "views.py").write_text('N_("Claim this case")\n')
    with (REPO / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    # Until the entry point is installed, hand Babel the function itself.
    methods = [
        (pattern, extract_flows if method == "relais_flows" else method)
        for pattern, method in method_map
    ]
    found = {
        (file, message if isinstance(message, str) else message[0])
        for file, _, message, _, _ in extract_from_dir(
            tmp_path,
            method_map=methods,  # type: ignore[arg-type]
            options_map=options_map,
            keywords={"N_": None, "ngettext": (1, 2)},
        )
    }
    files = {file for file, _ in found}
    assert files == {"flows/weekly_checkin.yaml", "bot/engine/defaults.py"}
    assert ("bot/engine/defaults.py", "Sorry, I did not understand.") in found
    assert ("flows/weekly_checkin.yaml", "{count} week") in found


# --------------------------------------------------------------------------- checks


def text(msgid: str, **fields: object) -> FlowText:
    return FlowText("flows/x.yaml", 12, "lonely", msgid, **fields)  # type: ignore[arg-type]


def problems_for(tmp_path: Path, texts: list[FlowText], catalogs: dict[str, str]) -> list[str]:
    for language, entries in catalogs.items():
        write_po(tmp_path, language, entries)
    loaded = Catalogs.load(tmp_path, languages=("en", *catalogs))
    return [str(p) for p in check_catalogs(texts, loaded)]


def test_check_reports_a_missing_or_fuzzy_translation_with_file_and_line(tmp_path: Path) -> None:
    found = problems_for(
        tmp_path,
        [text("Hello"), text("Goodbye")],
        {"fa_AF": '#, fuzzy\nmsgid "Goodbye"\nmsgstr "خدا حافظ"\n'},
    )
    assert found == [
        'flows/x.yaml:12: [fa_AF] missing translation: "Hello"',
        'flows/x.yaml:12: [fa_AF] missing translation (fuzzy): "Goodbye"',
    ]


def test_check_lets_english_stay_the_source(tmp_path: Path) -> None:
    assert problems_for(tmp_path, [text("Hello")], {"en": 'msgid "Hello"\nmsgstr ""\n'}) == []


def test_check_reports_a_missing_catalog_once(tmp_path: Path) -> None:
    loaded = Catalogs.load(tmp_path, languages=("en", "tr"))
    problems = check_catalogs([text("Hello"), text("Bye")], loaded)
    expected = tmp_path / "tr" / "LC_MESSAGES" / "flows.po"
    assert problems == [Problem(str(expected), None, "tr", "no catalog")]
    assert str(problems[0]) == f"{expected}: [tr] no catalog"


def test_check_reports_placeholders_that_differ(tmp_path: Path) -> None:
    found = problems_for(
        tmp_path,
        [text("Hello {first_name}"), text("See you")],
        {
            "fr": 'msgid "Hello {first_name}"\nmsgstr "Bonjour {prenom}"\n\n'
            'msgid "See you"\nmsgstr "À bientôt {first_name}"\n'
        },
    )
    assert found == [
        "flows/x.yaml:12: [fr] placeholders differ (expected {first_name}, found {prenom}): "
        '"Bonjour {prenom}"',
        'flows/x.yaml:12: [fr] placeholders differ (expected none, found {first_name}): "À '
        'bientôt {first_name}"',
    ]


def test_check_lets_a_plural_form_leave_out_the_count_but_checks_every_form(
    tmp_path: Path,
) -> None:
    weeks = text("{count} week for {first_name}", plural="{count} weeks for {first_name}")
    good = problems_for(
        tmp_path,
        [weeks],
        {
            "uk": 'msgid "{count} week for {first_name}"\n'
            'msgid_plural "{count} weeks for {first_name}"\n'
            'msgstr[0] "тиждень для {first_name}"\n'
            'msgstr[1] "{count} тижні для {first_name}"\n'
            'msgstr[2] "{count} тижнів для {first_name}"\n'
        },
    )
    assert good == []
    bad = problems_for(
        tmp_path,
        [weeks],
        {
            "uk": 'msgid "{count} week for {first_name}"\n'
            'msgid_plural "{count} weeks for {first_name}"\n'
            'msgstr[0] "тиждень для {first_name}"\n'
            'msgstr[1] "{count} тижні для {first_name}"\n'
            'msgstr[2] "{count} тижнів"\n'
        },
    )
    assert bad == [
        "flows/x.yaml:12: [uk] placeholders differ (expected {count}, {first_name}, found "
        '{count}): "{count} тижнів"'
    ]


def test_check_reports_an_empty_plural_form_as_missing(tmp_path: Path) -> None:
    weeks = text("{count} week", plural="{count} weeks")
    found = problems_for(
        tmp_path,
        [weeks],
        {
            "uk": 'msgid "{count} week"\nmsgid_plural "{count} weeks"\n'
            'msgstr[0] "{count} тиждень"\nmsgstr[1] "{count} тижні"\n'
        },
    )
    assert found == [
        'flows/x.yaml:12: [uk] missing translation (plural form 2 empty): "{count} week"'
    ]


def test_check_counts_the_sms_with_translated_choices_against_the_budget(tmp_path: Path) -> None:
    question = text(
        "How often?",
        choices=("Often", "Never", "Français"),
        sms_segments=1,
    )
    arabic = (
        'msgid "How often?"\nmsgstr "كم مرة تشعر بالوحدة في الأسابيع الأخيرة؟"\n\n'
        'msgid "Often"\nmsgstr "غالبًا أو دائمًا"\n\n'
        'msgid "Never"\nmsgstr "أبدًا، ولا مرة واحدة"\n'
    )
    found = problems_for(tmp_path, [question], {"ar": arabic})
    assert found == [
        "flows/x.yaml:12: [ar] too long for SMS: 2 SMS (UCS-2, 96 units), budget 1 SMS: "
        '"كم مرة تشعر بالوحدة في الأسابيع الأخيرة؟"'
    ]


def test_check_counts_english_source_texts_too(tmp_path: Path) -> None:
    long_text = text("x" * 161, sms_segments=1)
    assert problems_for(tmp_path, [long_text], {"en": ""}) == [
        "flows/x.yaml:12: [en] too long for SMS: 2 SMS (GSM-7, 161 units), budget 1 SMS: "
        f'"{"x" * 59}…"'
    ]


def test_check_never_counts_keywords_against_a_budget(tmp_path: Path) -> None:
    keywords = text("often, " * 100, sms_segments=None, kind="keywords")
    assert problems_for(tmp_path, [keywords], {"en": ""}) == []


def test_check_counts_the_text_as_finished_for_the_language(tmp_path: Path) -> None:
    def isolate_digits(text: str, language: str) -> str:
        return text.replace("3114", "\u20663114\u2069") if language == "ar" else text

    call = text("Call 3114 now", sms_segments=1)
    arabic = 'msgid "Call 3114 now"\nmsgstr "' + "ا" * 65 + ' 3114"\n'
    write_po(tmp_path, "ar", arabic)
    loaded = Catalogs.load(tmp_path, languages=("ar",))
    assert check_catalogs([call], loaded) == []
    assert [p.message for p in check_catalogs([call], loaded, finish=isolate_digits)] == [
        f'too long for SMS: 2 SMS (UCS-2, 72 units), budget 1 SMS: "{"ا" * 59}…"'
    ]
