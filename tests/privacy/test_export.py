"""Access requests: one JSON file with everything stored about the person."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from bot import clock, privacy
from bot.cli import main
from bot.extensions import relais
from storage.models import AuditEntry

from .conftest import CHECKIN_WORDS, NOTE, PERSON, person_with_history


def test_the_export_holds_the_contact_addresses_messages_runs_cases_and_checkins(
    app: Flask,
) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)

    with database.write() as session:
        export = privacy.export_contact(session, person.contact_id, actor="test", now=clock.now())

    assert export["format"] == "relais.contact-export/1"
    assert export["contact"]["display_name"] == "Nadia"
    assert export["contact"]["fields"]["postcode"] == "93100"
    assert export["addresses"] == [
        {
            "channel": "sms",
            "address": PERSON,
            "created_at": clock.now().isoformat(),
            "last_inbound_at": clock.now().isoformat(),
            "unreachable_at": None,
            "unreachable_reason": None,
        }
    ]
    inbound = [m["text"] for m in export["messages"] if m["direction"] == "in"]
    assert inbound == list(person.said)
    outbound = [m for m in export["messages"] if m["direction"] == "out"]
    assert outbound
    assert {m["status"] for m in outbound} == {"queued"}
    assert export["conversations"][0]["flow"] == "first_contact"
    assert export["conversations"][-1]["state"]["results"]["situation_words"] == person.said[6]
    (case,) = export["cases"]
    assert "Nadia" in case["summary"]
    assert NOTE in [event["body"] for event in case["events"]]
    assert export["checkins"]["enrolment"]["weekday"] == 0
    assert export["checkins"]["weeks"][0]["answers"]["in_their_words"] == CHECKIN_WORDS
    json.loads(privacy.dumps(export))  # serialisable as it is


def test_an_export_is_audited_and_listed_in_the_next_export(app: Flask) -> None:
    database = relais(app).database
    person = person_with_history(relais(app).conversations)
    with database.write() as session:
        privacy.export_contact(session, person.contact_id, actor="test", now=clock.now())

    with database.write() as session:
        export = privacy.export_contact(session, person.contact_id, actor="test", now=clock.now())

    assert [entry["action"] for entry in export["access_log"]] == ["contact.export"]
    with database.read() as session:
        entries = list(session.scalars(select(AuditEntry)))
    assert [(e.action, e.target_id, e.detail) for e in entries] == [
        ("contact.export", person.contact_id, None)
    ] * 2


def test_relais_contacts_export_writes_a_json_file_only_its_owner_can_read(
    app: Flask, runner: CliRunner, tmp_path: Path
) -> None:
    person = person_with_history(relais(app).conversations)
    output = tmp_path / "export.json"

    result = runner.invoke(
        main, ["contacts", "export", str(person.contact_id), "--output", str(output)]
    )

    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8"))["contact"]["id"] == person.contact_id
    assert output.stat().st_mode & 0o077 == 0


def test_relais_contacts_export_prints_to_standard_output_by_default(
    app: Flask, runner: CliRunner
) -> None:
    person = person_with_history(relais(app).conversations)

    result = runner.invoke(main, ["contacts", "export", str(person.contact_id)])

    assert result.exit_code == 0, result.output
    texts = [message["text"] for message in json.loads(result.output)["messages"]]
    assert person.said[6] in texts


def test_relais_contacts_export_of_an_unknown_id_fails_plainly(runner: CliRunner) -> None:
    result = runner.invoke(main, ["contacts", "export", "999"])
    assert result.exit_code == 1
    assert "no contact 999" in result.output
