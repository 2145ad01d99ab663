"""Golden conversations with the engine's own test flows (tests/engine/testdata/flows)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.engine.flow import FlowLibrary, load_library
from tests.engine.fakes import TRANSLATIONS
from tests.engine.golden import check_golden, golden_params, play_golden

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
FLOWS = HERE / "testdata" / "flows"


@pytest.fixture(scope="module")
def library() -> FlowLibrary:
    return load_library(FLOWS)


@pytest.mark.parametrize("path", golden_params(GOLDEN))
def test_golden_conversation(
    path: Path, library: FlowLibrary, request: pytest.FixtureRequest
) -> None:
    update = bool(request.config.getoption("--update-golden", default=False))
    check_golden(path, library, TRANSLATIONS, update=update)


def test_golden_directory_is_not_empty() -> None:
    assert len(golden_params(GOLDEN)) >= 5


def test_update_rewrites_a_stale_expectation(library: FlowLibrary, tmp_path: Path) -> None:
    path = tmp_path / "stale.yaml"
    shutil.copy(GOLDEN / "checkin_label_word.yaml", path)
    path.write_text(path.read_text(encoding="utf-8").replace("Never", "Nevermore"), "utf-8")
    assert not play_golden(path, library, TRANSLATIONS).passed

    check_golden(path, library, TRANSLATIONS, update=True)

    assert play_golden(path, library, TRANSLATIONS).passed


def test_a_stale_expectation_fails_with_the_turn_that_differs(
    library: FlowLibrary, tmp_path: Path
) -> None:
    path = tmp_path / "stale.yaml"
    shutil.copy(GOLDEN / "checkin_label_word.yaml", path)
    path.write_text(path.read_text(encoding="utf-8").replace("Never", "Nevermore"), "utf-8")

    with pytest.raises(pytest.fail.Exception, match="turn 1"):
        check_golden(path, library, TRANSLATIONS)
