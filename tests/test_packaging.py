"""The distribution carries the code, the flows and the translations."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_the_wheel_ships_code_flows_and_catalogs(tmp_path: Path) -> None:
    [wheel] = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "bot/cli.py",
        "bot/engine/runner.py",
        "storage/models.py",
        "storage/migrations/env.py",
        "bot/_shipped/flows/first_contact.yaml",
        "bot/_shipped/flows/safety.yaml",
        "bot/_shipped/locales/fa_AF/LC_MESSAGES/flows.po",
        "bot/_shipped/locales/fr/LC_MESSAGES/dashboard.po",
        "bot/dashboard/templates/dashboard/base.html",
    ):
        assert required in names, required
    assert not any(name.startswith("tests/") for name in names)


def test_an_editable_install_reads_flows_from_the_source_tree() -> None:
    from bot import paths

    assert paths.flows_dir() == ROOT / "flows"
    assert paths.locales_dir() == ROOT / "locales"
