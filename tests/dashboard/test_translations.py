"""The interface speaks French by default, English on request, and both catalogs are full."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from bot import paths
from bot.dashboard import check_dashboard_catalogs
from tests.browser import Credentials
from tests.dashboard.client import csrf_token, log_in, text

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "ngettext": (1, 2)}


def test_the_interface_is_french_by_default(client: FlaskClient) -> None:
    page = text(client.get("/login"))
    assert '<html lang="fr">' in page
    assert "Adresse e-mail" in page
    assert "Aller au contenu" in page


@pytest.mark.parametrize(
    ("accept", "language"),
    [("en-GB,en;q=0.9", "en"), ("de-DE,de;q=0.9", "fr"), ("en;q=0.5,fr;q=0.8", "fr")],
)
def test_the_browser_language_is_used_among_french_and_english(
    client: FlaskClient, accept: str, language: str
) -> None:
    page = text(client.get("/login", headers={"Accept-Language": accept}))
    assert f'<html lang="{language}">' in page
    assert ("E-mail address" in page) == (language == "en")


def test_the_switch_overrides_the_browser_and_survives_logging_in(
    client: FlaskClient, worker: Credentials
) -> None:
    french_browser = {"Accept-Language": "fr-FR"}
    token = csrf_token(client)
    response = client.post(
        "/language",
        data={"language": "en", "next": "/login?next=/queue/", "csrf_token": token},
        headers=french_browser,
    )
    assert response.location == "/login?next=/queue/"
    assert "E-mail address" in text(client.get("/login", headers=french_browser))
    log_in(client, worker.email, worker.password)
    assert "Signed in as Wassim Worker" in text(client.get("/queue/", headers=french_browser))


def test_the_switch_ignores_unknown_languages_and_foreign_next(client: FlaskClient) -> None:
    token = csrf_token(client)
    response = client.post(
        "/language",
        data={"language": "de", "next": "https://evil.example/", "csrf_token": token},
    )
    assert response.location == "/login"
    assert '<html lang="fr">' in text(client.get("/login"))


def test_both_shipped_catalogs_are_complete() -> None:
    assert check_dashboard_catalogs(paths.locales_dir()) == []


def test_the_template_lists_every_text_of_the_code_and_templates() -> None:
    with (ROOT / "babel-dashboard.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    in_source = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }
    with (ROOT / "locales" / "dashboard.pot").open("rb") as handle:
        in_template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert in_source - in_template == set(), "run the pybabel commands in babel-dashboard.cfg"
    assert in_template - in_source == set(), "the template lists texts no longer used"


def _catalog(root: Path, language: str, body: str) -> None:
    folder = root / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    header = f'msgid ""\nmsgstr ""\n"Language: {language}\\n"\n\n'
    (folder / "dashboard.po").write_text(header + body, encoding="utf-8")


def test_the_check_lists_missing_fuzzy_and_broken_translations(tmp_path: Path) -> None:
    (tmp_path / "dashboard.pot").write_text(
        'msgid "Log in"\nmsgstr ""\n\nmsgid "Hello, %(name)s"\nmsgstr ""\n\n'
        'msgid "Queue"\nmsgstr ""\n',
        encoding="utf-8",
    )
    _catalog(
        tmp_path,
        "fr",
        'msgid "Log in"\nmsgstr "Se connecter"\n\n'
        'msgid "Hello, %(name)s"\nmsgstr "Bonjour, %(nom)s"\n\n'
        '#, fuzzy\nmsgid "Queue"\nmsgstr "File"\n',
    )
    _catalog(tmp_path, "en", 'msgid "Log in"\nmsgstr ""\n')
    problems = "\n".join(check_dashboard_catalogs(tmp_path))
    assert "placeholders differ in 'Hello, %(name)s'" in problems
    assert "fuzzy translation of 'Queue'" in problems
    assert "'Log in' is not translated" in problems
    assert "en/LC_MESSAGES/dashboard.po: missing 'Queue'" in problems
    assert "fr/LC_MESSAGES/dashboard.po: missing" not in problems


def test_the_check_reports_a_missing_catalog(tmp_path: Path) -> None:
    (tmp_path / "dashboard.pot").write_text('msgid "Log in"\nmsgstr ""\n', encoding="utf-8")
    problems = check_dashboard_catalogs(tmp_path)
    assert len(problems) == 2
    assert all("cannot read the catalog" in problem for problem in problems)
