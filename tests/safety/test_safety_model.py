"""The danger model (bot/safety_model.py): what it was trained on, how it reads, and
what a message it flags gets (the concern reply and an urgent case to assess)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from bot import clock, paths
from bot.conversation import ConversationService
from bot.extensions import relais
from bot.i18n import LANGUAGES
from bot.reception import InboundMessage
from bot.safety import RESEMBLANCE_SITUATION, SafetyHook, Scanner, scan
from bot.safety_lexicon import LEXICON_DIR, check_lexicon, shipped_lexicon
from bot.safety_model import MODEL_FILE, SafetyModel, features, load_model
from bot.safety_texts import CONCERN
from storage.db import Database
from storage.models import Case, CaseEvent, Channel, Message, Priority
from tests.safety.corpus import MEASURE_SETS, digest, training_messages

SHIPPED = paths.flows_dir() / LEXICON_DIR / MODEL_FILE
# "parapluie" weighs towards danger, nothing else is known: a model whose answers are
# obvious, to test the wiring rather than what training learnt.
UMBRELLA = SafetyModel(
    weights={"w:parapluie": (1.0, 10.0), "w:soleil": (1.0, -10.0)},
    intercept=-3.0,
    threshold=0.9,
    trained_on={},
)


def _scanner(model: SafetyModel | None) -> Scanner:
    return Scanner(dataclasses.replace(shipped_lexicon(), model=model))


def test_the_shipped_model_learnt_from_the_data_as_it_is_and_never_from_a_measure_set() -> None:
    model = load_model(SHIPPED)
    assert model.trained_on["sha256"] == digest(training_messages(LANGUAGES)), (
        "the corpora changed since the model was trained: "
        "run .venv/bin/python bench/train_safety_model.py"
    )
    assert not set(model.trained_on["sets"]) & set(MEASURE_SETS)


def test_plain_python_reads_the_probes_as_scikit_learn_did() -> None:
    data = json.loads(SHIPPED.read_text("utf-8"))
    model = load_model(SHIPPED)
    assert len(data["probes"]) >= 20
    for text, expected in data["probes"]:
        assert model.probability(text) == pytest.approx(expected, abs=1e-5), text


def test_features_ignore_case_accents_emphasis_and_layout() -> None:
    assert features("Je veux MOURRRRIR") == features("je veux mourrir")
    assert features("déçu\n") == features("decu")
    assert "w:je veux" in features("je veux")
    assert " mo" in features("mourir")
    assert "rir " in features("mourir")


def test_a_message_no_lexicon_lists_but_the_model_flags_is_a_concern_with_its_words() -> None:
    detection = _scanner(UMBRELLA).scan("il pleut, mon parapluie", "fr")
    assert detection is not None
    assert (detection.category, detection.level, detection.situation) == (
        "concern",
        "concern",
        RESEMBLANCE_SITUATION,
    )
    assert detection.phrase == "parapluie"
    assert detection.language == "fr"


def test_the_lexicon_comes_first_and_the_model_only_reads_what_it_left() -> None:
    scanner = _scanner(UMBRELLA)
    found = scanner.scan("je veux mourir, parapluie", "fr")
    assert found is not None
    assert found.category == "suicide_selfharm"
    assert scanner.scan("un parapluie et du soleil", "fr") is None
    assert scanner.scan("bonjour", "fr") is None
    assert _scanner(None).scan("il pleut, mon parapluie", "fr") is None


def test_a_message_of_a_few_words_is_left_to_the_lexicons() -> None:
    scanner = _scanner(UMBRELLA)
    assert scanner.scan("mon parapluie", "fr") is None
    assert scanner.scan("parapluie", "fr") is None
    # The shipped model once read "message 14" as danger (0.96), and a help command.
    assert scan("message 14", "fr") is None


def test_laughter_cancels_what_only_the_model_saw() -> None:
    assert _scanner(UMBRELLA).scan("il pleut, mon parapluie mdr", "fr") is None


@pytest.mark.parametrize(
    ("contents", "says"),
    [
        ("not json", "cannot read the danger model"),
        ('{"format": 2}', "not format 1"),
        ('{"format": 1, "threshold": 0.9}', "incomplete"),
        (
            '{"format": 1, "threshold": 1.5, "intercept": 0, "trained_on": {}, '
            '"features": {"w:x": [1, 1]}}',
            "threshold outside",
        ),
    ],
)
def test_a_broken_model_file_says_what_is_wrong(tmp_path: Path, contents: str, says: str) -> None:
    path = tmp_path / MODEL_FILE
    path.write_text(contents, "utf-8")
    with pytest.raises(ValueError, match=says):
        load_model(path)


def test_flows_check_reports_a_broken_model(tmp_path: Path) -> None:
    # load_lexicon (start-up) reads through the same _load: it raises on these problems.
    flows = tmp_path / "flows"
    shutil.copytree(paths.flows_dir(), flows)
    model = flows / LEXICON_DIR / MODEL_FILE
    model.write_text('{"format": 1}', "utf-8")
    problems = check_lexicon(flows / "safety.yaml")
    assert [str(problem) for problem in problems] == [
        f"{model}:0: the danger model is incomplete: KeyError('features')"
    ]


def test_what_the_model_flags_gets_the_concern_reply_and_a_case_saying_why(
    app: Flask, db: Database
) -> None:
    service: ConversationService = relais(app).conversations
    hook = service.hooks[0]
    assert isinstance(hook, SafetyHook)
    hook.scanner = _scanner(UMBRELLA)
    handled = service.handle(
        InboundMessage(
            channel=Channel.TELEGRAM,
            address="7002",
            text="il pleut, mon parapluie",
            received_at=clock.now(),
        )
    )
    concern = service.runtime.catalogs.translator("fr").gettext(CONCERN)
    with db.read() as session:
        [case] = session.scalars(select(Case).where(Case.contact_id == handled.contact_id)).all()
        found = [
            event.data["safety"]
            for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))
            if event.data and "safety" in event.data
        ]
    assert (case.priority, case.category) == (Priority.URGENT, "concern")
    assert found[0]["situation"] == RESEMBLANCE_SITUATION
    assert found[0]["phrase"] == "parapluie"
    assert handled.replies == []
    with db.read() as session:
        texts = session.scalars(
            select(Message.text).where(Message.contact_id == handled.contact_id)
        ).all()
    assert concern.format(**shipped_lexicon().numbers("concern")) in texts
