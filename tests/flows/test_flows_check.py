"""`relais flows check` on the shipped flows, and on copies broken on purpose."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from click.testing import CliRunner

from bot import paths
from bot.cli import main


@pytest.fixture
def shipped_copy(tmp_path: Path) -> tuple[Path, Path]:
    """Writable copies of the shipped flows and locales."""
    flows = tmp_path / "flows"
    locales = tmp_path / "locales"
    shutil.copytree(paths.flows_dir(), flows)
    shutil.copytree(paths.locales_dir(), locales)
    return flows, locales


def _check(flows: Path, locales: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["flows", "check", "--flows-dir", str(flows), "--locales-dir", str(locales)]
    )
    return result.exit_code, result.output


def _edit_catalog(locales: Path, language: str, edit: Callable[[Catalog], None]) -> None:
    path = locales / language / "LC_MESSAGES" / "flows.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    edit(catalog)
    with path.open("wb") as handle:
        write_po(handle, catalog)


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_the_shipped_flows_and_translations_pass() -> None:
    result = CliRunner().invoke(main, ["flows", "check"])
    assert result.exit_code == 0, result.output
    assert "fine" in result.output


def test_a_dangling_target_is_reported_with_file_and_line(shipped_copy: tuple[Path, Path]) -> None:
    flows, locales = shipped_copy
    inbox = flows / "inbox.yaml"
    inbox.write_text(
        inbox.read_text(encoding="utf-8").replace("next: to_team", "next: nowhere_at_all"),
        encoding="utf-8",
    )
    code, output = _check(flows, locales)
    assert code == 1
    line = _line_of(inbox, "next: nowhere_at_all")
    assert re.search(rf"inbox\.yaml:{line}: .*nowhere_at_all", output), output


def test_a_missing_dari_translation_is_reported(shipped_copy: tuple[Path, Path]) -> None:
    flows, locales = shipped_copy
    msgid = "Thank you, we got your message. Someone from the team will read it and answer you. "
    msgid += "In an emergency, call 112 (or text 114)."

    def forget(catalog: Catalog) -> None:
        catalog[msgid].string = ""

    _edit_catalog(locales, "fa_AF", forget)
    code, output = _check(flows, locales)
    assert code == 1
    line = _line_of(flows / "inbox.yaml", "Thank you, we got your message")
    assert f"inbox.yaml:{line}: [fa_AF] missing translation" in output
    # Only Dari is missing it.
    assert output.count("missing translation") == 1


def test_a_changed_placeholder_is_reported(shipped_copy: tuple[Path, Path]) -> None:
    flows, locales = shipped_copy
    flow = flows / "weekly_checkin.yaml"
    msgid = "Hello {first_name}, it's Relais. How often do you feel lonely?"

    def rename(catalog: Catalog) -> None:
        message = catalog[msgid]
        assert isinstance(message.string, str)
        message.string = message.string.replace("{first_name}", "{prenom}")

    _edit_catalog(locales, "fr", rename)
    code, output = _check(flows, locales)
    assert code == 1
    line = _line_of(flow, msgid)
    assert re.search(rf"weekly_checkin\.yaml:{line}: \[fr\] .*placeholder", output), output


def test_a_four_segment_message_is_reported(shipped_copy: tuple[Path, Path]) -> None:
    flows, locales = shipped_copy
    msgid = "Thank you, we got your message. Someone from the team will read it and answer you. "
    msgid += "In an emergency, call 112 (or text 114)."

    def lengthen(catalog: Catalog) -> None:
        # 511 GSM-7 characters: more than 3 × 153, so 4 segments.
        catalog[msgid].string = "Merci. " + "Nous vous lisons. " * 28

    _edit_catalog(locales, "fr", lengthen)
    code, output = _check(flows, locales)
    assert code == 1
    line = _line_of(flows / "inbox.yaml", "Thank you, we got your message")
    assert re.search(rf"inbox\.yaml:{line}: \[fr\] .*4 SMS", output), output


def test_a_broken_catalog_file_is_reported(shipped_copy: tuple[Path, Path]) -> None:
    flows, locales = shipped_copy
    catalog = locales / "tr" / "LC_MESSAGES" / "flows.po"
    catalog.write_bytes(b'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\xff\xfe')
    code, output = _check(flows, locales)
    assert code == 1
    assert "tr/LC_MESSAGES/flows.po" in output
