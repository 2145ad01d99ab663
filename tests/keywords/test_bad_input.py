"""Bad input: invalid UTF-8, lone surrogates, control characters, huge and empty messages.

Property-based where it matters: the cleaner, the webhook parsers and the answer parsers
never raise, always give storable text, and keep what people meant.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from bot.app import create_app
from bot.channels.telegram_webhook import Ignored, MalformedUpdate, parse_update, receive_update
from bot.channels.twilio_webhook import Rejected, parse_inbound
from bot.config import Settings
from bot.conversation import ConversationService
from bot.engine import answers
from bot.extensions import relais
from bot.i18n import LANGUAGES
from bot.inbound_text import MAX_INBOUND_CHARS, clean_text
from bot.reception import InboundMessage
from storage.models import Message
from tests.conftest import process_inbox
from tests.fakes.twilio import PUBLIC_URL, inbound_params, settings_overrides, sign

# Every code point, surrogates included: what a JSON body may decode to.
ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
NOW = datetime.datetime(2026, 11, 25, 9, 30, tzinfo=datetime.UTC)


def _storable(text: str) -> None:
    """Text PostgreSQL and SQLite accept, without invisible tricks."""
    text.encode("utf-8")  # raises on a surrogate
    assert "\x00" not in text
    assert all(c == "\n" or unicodedata.category(c) != "Cc" for c in text)
    assert "\u202e" not in text


# ----------------------------------------------------------------------- cleaner


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Bonjour\x00 !", "Bonjour !"),
        ("ligne 1\r\nligne 2\rligne 3", "ligne 1\nligne 2\nligne 3"),
        ("\ufeffSTOP\u200b", "STOP"),
        ("abc\u202edef", "abcdef"),
        ("caf\udce9", "caf\ufffd"),
        ("\ud83d\ude00", "😀"),  # a surrogate pair split in two code points, joined
        (b"caf\xe9", "caf\ufffd"),
        (b"caf\xc3\xa9", "café"),
        ("cafe\u0301", "café"),  # NFC
        ("\t tab\t", "tab"),
        ("   ", ""),
    ],
)
def test_the_cleaner_keeps_the_meaning_and_drops_what_cannot_be_stored(
    raw: str | bytes, clean: str
) -> None:
    assert clean_text(raw) == clean


def test_the_cleaner_keeps_dari_zwnj_and_emoji_joiners() -> None:
    assert clean_text("می\u200cخواهم") == "می\u200cخواهم"
    assert clean_text("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"


def test_a_huge_message_is_cut_with_a_note_of_its_length() -> None:
    cleaned = clean_text("a" * 10_000)
    assert len(cleaned) <= MAX_INBOUND_CHARS
    assert cleaned.startswith("a" * 4000)
    assert cleaned.endswith("[truncated: 10000 characters]")


# A limit always leaves room for the note (it is 4096 in practice).
@given(st.one_of(ANY_TEXT, st.binary(max_size=300)), st.integers(min_value=64, max_value=400))
def test_cleaning_never_raises_and_always_gives_storable_text(raw: str | bytes, limit: int) -> None:
    cleaned = clean_text(raw, limit=limit)
    _storable(cleaned)
    assert clean_text(cleaned, limit=limit) == cleaned


@given(st.text(st.characters(categories=("L", "N", "P", "S")), max_size=300))
def test_cleaning_ordinary_text_loses_nothing(text: str) -> None:
    assert clean_text(text) == unicodedata.normalize("NFC", text)


# --------------------------------------------------------------------- telegram

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=10,
)


def _update(text: Any, **message: Any) -> dict[str, Any]:
    body = {"message_id": 1, "chat": {"id": 42, "type": "private"}, "text": text}
    return {"update_id": 7, "message": {**body, **message}}


def _message(fields: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": 7, "message": {"chat": {"id": 42, "type": "private"}, **fields}}


@given(JSON_VALUES)
def test_telegram_parsing_never_crashes_on_any_json(data: Any) -> None:
    try:
        parsed = parse_update(data, NOW)
    except MalformedUpdate:
        return
    if isinstance(parsed, InboundMessage):
        _storable(parsed.text)


@given(st.dictionaries(st.sampled_from(["text", "caption", "from", "photo", "chat"]), JSON_VALUES))
def test_telegram_parsing_never_crashes_on_any_message(fields: dict[str, Any]) -> None:
    try:
        parsed = parse_update(_message(fields), NOW)
    except MalformedUpdate:
        return
    assert isinstance(parsed, InboundMessage | Ignored)
    if isinstance(parsed, InboundMessage):
        _storable(parsed.text)


@given(st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=200))
def test_telegram_text_arrives_whole(text: str) -> None:
    parsed = parse_update(_update(text), NOW)
    assert isinstance(parsed, InboundMessage)
    if not text.strip().startswith("/start"):
        assert parsed.text == unicodedata.normalize("NFC", text).strip()


def test_a_lone_surrogate_from_telegram_is_stored_not_a_500(app: Flask) -> None:
    service: ConversationService = relais(app).conversations
    handled = receive_update(service.reception, _update("je suis l\udce0 \ud83d"), NOW)
    assert handled is not None
    process_inbox(app)
    with relais(app).database.read() as session:
        message = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert message.text == "je suis l\ufffd \ufffd"


# ----------------------------------------------------------------------- twilio


@given(st.dictionaries(st.sampled_from(["MessageSid", "From", "Body", "NumMedia"]), ANY_TEXT))
def test_twilio_parsing_never_crashes(fields: dict[str, str]) -> None:
    try:
        parsed = parse_inbound(MultiDict(fields))
    except Rejected:
        return
    _storable(parsed.text)


@given(st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=300))
def test_twilio_text_arrives_whole(body: str) -> None:
    parsed = parse_inbound(MultiDict(inbound_params(body)))
    if body.strip():
        assert parsed.text == unicodedata.normalize("NFC", body).strip()


@pytest.fixture
def twilio_app(settings: Settings) -> Iterator[Flask]:
    application = create_app(
        {"TESTING": True}, settings=settings.with_overrides(settings_overrides())
    )
    yield application
    relais(application).database.dispose()


def test_a_twilio_body_with_invalid_utf8_is_stored_with_replacement_characters(
    twilio_app: Flask,
) -> None:
    params = inbound_params("placeholder")
    del params["Body"]
    raw = urlencode(params) + "&Body=caf%FF%00%C3"
    # Twilio signs the values as Flask decodes them (Werkzeug never raises on bad bytes).
    signed = Request(
        EnvironBuilder(
            method="POST", data=raw, content_type="application/x-www-form-urlencoded"
        ).get_environ()
    ).form
    response = twilio_app.test_client().post(
        "/webhooks/twilio",
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/webhooks/twilio", signed)},
    )
    assert response.status_code == 200
    process_inbox(twilio_app)
    with relais(twilio_app).database.read() as session:
        message = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert message.text == clean_text(signed["Body"])
    assert message.text.startswith("caf")


def test_an_empty_sms_is_stored_without_a_crash(twilio_app: Flask) -> None:
    params = inbound_params("")
    response = twilio_app.test_client().post(
        "/webhooks/twilio",
        data=params,
        headers={"X-Twilio-Signature": sign(PUBLIC_URL + "/webhooks/twilio", params)},
    )
    assert response.status_code == 200
    process_inbox(twilio_app)
    with relais(twilio_app).database.read() as session:
        message = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert message.text == ""


# -------------------------------------------------------------------- answers


@given(ANY_TEXT, st.sampled_from([*LANGUAGES, "xx", ""]))
def test_the_answer_parsers_never_raise(text: str, language: str) -> None:
    today = datetime.date(2026, 11, 25)
    assert answers.parse_yes_no(text, language) in (True, False, None)
    assert answers.parse_date(text, language, today) is None or isinstance(
        answers.parse_date(text, language, today), datetime.date
    )
    answers.parse_int(text)
    answers.parse_range(text)
    answers.parse_phone(text)
    answers.parse_postcode(text)
    answers.made_of_phrases(text, ["non", "merci", "rien"])
    options = [answers.ChoiceOption(1, "Souvent", ("toujours",)), answers.ChoiceOption(2, "Jamais")]
    assert answers.match_choice(text, options) in (None, 0, 1)


def test_a_media_count_in_superscript_digits_still_keeps_the_message() -> None:
    from werkzeug.datastructures import MultiDict

    from bot.channels.twilio_webhook import parse_inbound

    parsed = parse_inbound(
        MultiDict({"MessageSid": "SM1", "From": "+33639980555", "NumMedia": "¹"})
    )
    assert parsed.kind == "media"
    assert parsed.text
