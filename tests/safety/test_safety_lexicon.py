"""flows/safety.yaml is validated at load and by `relais flows check`, problems with lines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
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
    return target


def _replace(path: Path, old: str, new: str) -> int:
    """Replace the first `old` with `new`; return the line it was on."""
    text = path.read_text(encoding="utf-8")
    index = text.index(old)
    path.write_text(text[:index] + new + text[index + len(old) :], encoding="utf-8")
    return text.count("\n", 0, index) + 1


def test_the_shipped_file_is_valid_and_covers_every_language() -> None:
    assert check_lexicon(SHIPPED) == []
    lexicon = shipped_lexicon()
    assert next(iter(lexicon.categories)) == "suicide_selfharm"
    assert lexicon.helplines["sms"].sms is True
    assert lexicon.numbers("suicide_selfharm") == {
        "suicide": "3114",
        "samu": "15",
        "emergency": "112",
        "sms": "114",
    }


def test_a_number_changed_in_the_file_changes_the_reply_numbers(copy: Path) -> None:
    _replace(copy, 'number: "3114"', 'number: "3115"')
    assert load_lexicon(copy).numbers("suicide_selfharm")["suicide"] == "3115"


def test_a_phrase_added_by_a_social_worker_is_found(copy: Path) -> None:
    _replace(copy, "        - envie de crever\n", "        - plus la force de continuer\n")
    scanner = Scanner(load_lexicon(copy))
    found = scanner.scan("j'ai plus la force de continuer", "fr")
    assert found is not None
    assert found.phrase == "plus la force de continuer"


def test_a_broken_phrase_is_reported_with_its_line(copy: Path) -> None:
    line = _replace(copy, "        - envie de crever\n", "        - ... crever\n")
    [problem] = check_lexicon(copy)
    assert (problem.file, problem.line) == (str(copy), line)
    assert "'...' goes between two words" in problem.message


def test_a_star_inside_a_word_is_reported(copy: Path) -> None:
    _replace(copy, "        - envie de crever\n", "        - env*ie de crever\n")
    [problem] = check_lexicon(copy)
    assert "'*' only at the start or the end" in problem.message


def test_an_unquoted_leading_star_gets_a_hint(copy: Path) -> None:
    _replace(copy, "        - envie de crever\n", "        - *crever\n")
    [problem] = check_lexicon(copy)
    assert "must be in quotes" in problem.message


def test_a_category_that_gives_other_numbers_than_its_reply_is_reported(copy: Path) -> None:
    line = _replace(
        copy, "give: [shelter, emergency, sms]", "give: [shelter, emergency, sms, police]"
    )
    [problem] = check_lexicon(copy)
    assert problem.line == line
    assert "must give the helplines its reply names" in problem.message


def test_an_unknown_helpline_and_a_missing_language_are_reported(copy: Path) -> None:
    _replace(copy, "give: [samu, emergency, sms]", "give: [samu, emergncy, sms]")
    _replace(copy, "  tr:\n", "  xx:\n")
    messages = [problem.message for problem in check_lexicon(copy)]
    assert any("no helpline 'emergncy'" in message for message in messages)
    assert any("'xx' is not a shipped language" in message for message in messages)
    assert any("no lexicon for 'tr'" in message for message in messages)


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
    line = _replace(flows / "safety.yaml", "        - envie de crever\n", "        - a ... ...\n")
    result = CliRunner().invoke(
        main,
        ["flows", "check", "--flows-dir", str(flows), "--locales-dir", str(paths.locales_dir())],
    )
    assert result.exit_code != 0
    assert f"safety.yaml:{line}:" in result.output
