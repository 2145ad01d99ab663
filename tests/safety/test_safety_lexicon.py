"""flows/safety.yaml and flows/safety/ are validated at load and by `relais flows check`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bot import paths
from bot.cli import main
from bot.engine.problems import FlowError
from bot.safety import Scanner
from bot.safety_lexicon import check_lexicon, load_lexicon, shipped_lexicon

SHIPPED = paths.flows_dir() / "safety.yaml"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "safety.yaml"
    shutil.copyfile(SHIPPED, target)
    shutil.copytree(SHIPPED.parent / "safety", tmp_path / "safety")
    return target


def _replace(path: Path, old: str, new: str) -> int:
    """Replace the first `old` with `new`; return the line it was on."""
    text = path.read_text(encoding="utf-8")
    index = text.index(old)
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return text.count("\n", 0, index) + 1


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a lexicon file as data, as a social worker's editor would save it."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def _add_phrase(lexicon: Path, situation: str, phrase: str) -> int:
    _edit(lexicon, lambda data: data["situations"][situation].append(phrase))
    return _line_of(lexicon, phrase.strip("'"))


def test_the_shipped_files_are_valid_complete_and_free_of_collisions() -> None:
    assert check_lexicon(SHIPPED) == []
    lexicon = shipped_lexicon()
    # Most urgent first: an overdose reply (ambulance first) outranks the suicide reply.
    assert list(lexicon.categories)[:2] == ["overdose", "suicide_selfharm"]
    assert list(lexicon.categories)[-1] == "concern"
    assert lexicon.helplines["sms"].sms is True
    assert lexicon.numbers("suicide_selfharm") == {
        "suicide": "3114",
        "samu": "15",
        "emergency": "112",
        "sms": "114",
    }
    assert lexicon.numbers("elder_abuse")["elderly"] == "3977"
    assert {"ru", "ar_latn", "fa_latn", "ru_latn"} <= set(lexicon.lexicons)


def test_a_number_changed_in_the_file_changes_the_reply_numbers(copy: Path) -> None:
    _replace(copy, 'number: "3114"', 'number: "3115"')
    assert load_lexicon(copy).numbers("suicide_selfharm")["suicide"] == "3115"


def test_a_phrase_added_by_a_social_worker_is_found(copy: Path) -> None:
    _add_phrase(copy.parent / "safety" / "fr.yaml", "hopelessness", "un grand vide sans fond")
    found = Scanner(load_lexicon(copy)).scan("je sens un grand vide sans fond", "fr")
    assert found is not None
    assert (found.phrase, found.situation, found.level) == (
        "un grand vide sans fond",
        "hopelessness",
        "concern",
    )


def test_a_broken_phrase_is_reported_with_its_file_and_line(copy: Path) -> None:
    lexicon = copy.parent / "safety" / "fr.yaml"
    line = _add_phrase(lexicon, "ideation", "... crever")
    [problem] = check_lexicon(copy)
    assert (problem.file, problem.line) == (str(lexicon), line)
    assert "'...' goes between two words" in problem.message


def test_a_star_inside_a_word_is_reported(copy: Path) -> None:
    _add_phrase(copy.parent / "safety" / "fr.yaml", "ideation", "env*ie de crever")
    [problem] = check_lexicon(copy)
    assert "'*' only at the start or the end" in problem.message


def test_an_unquoted_leading_star_gets_a_hint(copy: Path) -> None:
    lexicon = copy.parent / "safety" / "fr.yaml"
    _add_phrase(lexicon, "ideation", "crever_marker")
    _replace(lexicon, "- crever_marker", "- *crever")
    [problem] = check_lexicon(copy)
    assert "must be in quotes" in problem.message


def test_a_situation_missing_in_a_language_fails_the_check(copy: Path) -> None:
    lexicon = copy.parent / "safety" / "pt.yaml"
    _edit(lexicon, lambda data: data["situations"].pop("stroke"))
    problems = [(p.file, p.message) for p in check_lexicon(copy)]
    assert (str(lexicon), "pt: no phrases for situation 'stroke'") in problems
    # Loading still works: the other situations go on protecting people.
    assert Scanner(load_lexicon(copy)).scan("quero morrer", "pt") is not None


def test_a_one_word_phrase_that_is_a_common_word_of_another_language_fails_the_check(
    copy: Path,
) -> None:
    lexicon = copy.parent / "safety" / "fr.yaml"
    line = _add_phrase(lexicon, "cry_for_help", "call*")
    problems = check_lexicon(copy)
    assert problems
    assert {(p.file, p.line) for p in problems} == {(str(lexicon), line)}
    assert "a common en word" in problems[0].message


def test_a_category_that_gives_other_numbers_than_its_reply_is_reported(copy: Path) -> None:
    line = _replace(
        copy, "give: [shelter, emergency, sms]", "give: [shelter, emergency, sms, police]"
    )
    [problem] = check_lexicon(copy)
    assert problem.line == line
    assert "must give the helplines its reply names" in problem.message


def test_an_unknown_helpline_a_stray_lexicon_and_a_missing_language_are_reported(
    copy: Path,
) -> None:
    _replace(copy, "give: [samu, emergency, sms]", "give: [samu, emergncy, sms]")
    folder = copy.parent / "safety"
    (folder / "tr.yaml").rename(folder / "xx.yaml")
    messages = [problem.message for problem in check_lexicon(copy)]
    assert any("no helpline 'emergncy'" in message for message in messages)
    assert any("must say language: xx" in message for message in messages)
    assert any("no lexicon for 'tr'" in message for message in messages)


def test_a_situation_of_an_unknown_category_is_reported(copy: Path) -> None:
    line = _replace(
        copy,
        '{category: medical_emergency, about: "An older',
        '{category: medcal, about: "An older',
    )
    messages = [(p.line, p.message) for p in check_lexicon(copy)]
    assert (line, "situation 'fall': no category 'medcal'") in messages


def test_a_wrong_key_is_reported_and_loading_refuses(copy: Path) -> None:
    line = _replace(copy, "    sms: true\n", "    sms: true\n    colour: red\n") + 1
    with pytest.raises(FlowError) as raised:
        load_lexicon(copy)
    [problem] = raised.value.problems
    assert problem.line == line
    assert "unknown key" in problem.message


def test_flows_check_reports_safety_problems(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(paths.flows_dir(), flows)
    lexicon = flows / "safety" / "en.yaml"
    line = _add_phrase(lexicon, "ideation", "a ... ... b")
    result = CliRunner().invoke(
        main,
        ["flows", "check", "--flows-dir", str(flows), "--locales-dir", str(paths.locales_dir())],
    )
    assert result.exit_code != 0
    assert f"en.yaml:{line}:" in result.output


def test_a_phrase_of_numbers_only_fails_the_check(copy: Path) -> None:
    # "555 rue de Paris", "j'habite au 555": a number says what it is only next to a word.
    lexicon = copy.parent / "safety" / "uk.yaml"
    _edit(lexicon, lambda data: data["situations"]["no_shelter"].append("555"))
    line = _line_of(lexicon, "- '555'")
    [problem] = check_lexicon(copy)
    assert (problem.file, problem.line) == (str(lexicon), line)
    assert "only numbers" in problem.message


def test_a_context_word_that_is_an_everyday_word_of_another_language_fails_the_check(
    copy: Path,
) -> None:
    # "state" would read "статье" in Russian typed in Latin letters, and silence every
    # English message about the state of anything.
    folder = copy.parent / "safety"
    _edit(folder / "ru_latn.yaml", lambda data: data["media"].append("state"))
    problems = check_lexicon(copy)
    where = (str(folder / "ru_latn.yaml"), _line_of(folder / "ru_latn.yaml", "- state"))
    assert {(p.file, p.line) for p in problems} == {where}
    assert any("'state'" in p.message and "common en word" in p.message for p in problems)
    # English says it is an everyday word there (and Portuguese, where it is common too).
    for code in ("en", "pt"):
        _edit(folder / f"{code}.yaml", lambda data: data["everyday_words"].append("state"))
    assert check_lexicon(copy) == []
    scanner = Scanner(load_lexicon(copy))
    assert scanner.scan("the state of my life, i want to die", "en") is not None
    assert scanner.scan("v state pro samoubiystvo", "uk") is None


def test_an_everyday_word_that_is_also_its_own_context_fails_the_check(copy: Path) -> None:
    lexicon = copy.parent / "safety" / "fr.yaml"
    _edit(lexicon, lambda data: data["everyday_words"].append("jamais"))
    [problem] = check_lexicon(copy)
    assert problem.file == str(lexicon)
    assert "'jamais' is also a negation or a marker" in problem.message
