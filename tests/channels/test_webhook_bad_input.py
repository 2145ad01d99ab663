"""Bad input on the webhooks: never a 5xx, nothing left broken after it (issue 13, point 17).

Twilio and Telegram never send these values, but a forged, replayed or garbled request
may, and a 5xx is the wrong answer to it: Telegram retries a failed update for hours, and
a transaction left half-done would break the requests after it. Each case that answered
500 has a test of its own; then property tests fill every field the webhooks read (and
some they do not) with NUL, lone surrogates, huge digit strings, empty and very long
strings, on whatever database the suite runs on (SQLite, or PostgreSQL with
TEST_DATABASE_URL).

What a bad field gets, decided once for every field (bot/channels/webhook_fields.py):

- a field that names something — a message or update id, an address, a Twilio error
  code — and cannot be stored as it is (empty, a control or format character, a surrogate,
  longer than its column, an integer beyond 64 bits) refuses the whole request with a 400,
  as a missing `From` or `MessageSid` always has, and as the Telegram webhook answers an
  update that is not one. Cleaning it instead would turn it into another id: two garbled
  sids could become one message, or a status could land on a message it does not name.
  A refusal is deterministic, logged, and shows in Twilio's debugger;
- a field that is only a hint or a description — the text, a caption, `NumMedia`, a
  media content type, Telegram's `language_code` — never costs the person their message:
  the text is cleaned (bot/inbound_text.py), a count too large is the most that is
  described, and a language code that is not a language tag is dropped.
"""

from __future__ import annotations

import itertools
import json
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" codec error handler
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.test import TestResponse

from bot.channels.telegram_webhook import SECRET_HEADER, parse_update
from bot.config import Settings
from bot.reception import InboundMessage
from storage.db import Database
from storage.models import Channel, Contact, ContactAddress, Direction, Message, MessageStatus
from tests.fakes import telegram as tg
from tests.fakes import twilio as tw

INBOUND = "/webhooks/twilio"
STATUS = "/webhooks/twilio/status"
TELEGRAM = "/webhooks/telegram"
# bot/app.py: a larger body is refused (413) before anything reads it.
MAX_BODY = 256 * 1024
# The person whose well-formed messages check that nothing is broken after bad input.
GOOD_PERSON = "+33639980199"
GOOD_CHAT = 700_100_999
INT64 = range(-(2**63), 2**63)
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

_good_update_ids = itertools.count(8_000_000_000_000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Both channels on: Twilio behind PUBLIC_URL, Telegram with its webhook secret.

    Neither API is reached: the webhooks only store, and the inbox is not processed.
    """
    return settings.with_overrides(
        {**tw.settings_overrides(), **tg.settings_overrides(tw.UNUSED_API_URL)}
    )


# --- sending requests as the providers would ---


def _form_body(params: Mapping[str, str]) -> str:
    """An urlencoded body; a lone surrogate goes out as invalid UTF-8 (surrogatepass)."""
    return "&".join(
        f"{quote(key)}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for key, value in params.items()
    )


def post_twilio(client: FlaskClient, path: str, params: Mapping[str, str]) -> TestResponse:
    """POST `params`, signed over the values the app will read (as Twilio signs them)."""
    signature = tw.sign(tw.PUBLIC_URL + path, decoded(params))
    return client.post(
        path,
        data=_form_body(params).encode("ascii"),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def decoded(params: Mapping[str, str]) -> dict[str, str]:
    """The form as the app reads it (Werkzeug keeps invalid UTF-8 percent-encoded)."""
    return dict(parse_qsl(_form_body(params), keep_blank_values=True, errors="werkzeug.url_quote"))


def post_telegram(client: FlaskClient, body: Any) -> TestResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        TELEGRAM,
        data=data,
        headers={SECRET_HEADER: tg.WEBHOOK_SECRET},
        content_type="application/json",
    )


# --- nothing is broken after bad input ---


def stored(db: Database, channel: Channel, provider_id: str) -> Message | None:
    with db.read() as session:
        return session.scalars(
            select(Message).where(
                Message.channel == channel,
                Message.direction == Direction.IN,
                Message.provider_id == provider_id,
            )
        ).one_or_none()


def outbound_message(db: Database) -> str:
    """An SMS Relais sent (to GOOD_PERSON); its Twilio sid."""
    sid = "SM" + uuid.uuid4().hex
    with db.write() as session:
        address = session.scalars(
            select(ContactAddress).where(
                ContactAddress.channel == Channel.SMS, ContactAddress.address == GOOD_PERSON
            )
        ).one_or_none()
        if address is None:
            contact = Contact(created_at=NOW, fields={})
            address = ContactAddress(
                contact=contact, channel=Channel.SMS, address=GOOD_PERSON, created_at=NOW
            )
            session.add_all([contact, address])
            session.flush()
        session.add(
            Message(
                contact_id=address.contact_id,
                address_id=address.id,
                direction=Direction.OUT,
                channel=Channel.SMS,
                provider_id=sid,
                kind="flow",
                text="Bonjour",
                status=MessageStatus.SENT,
                created_at=NOW,
            )
        )
    return sid


def assert_twilio_still_works(client: FlaskClient, db: Database) -> None:
    params = tw.inbound_params("Toujours là", from_=GOOD_PERSON)
    assert post_twilio(client, INBOUND, params).status_code == 200
    assert stored(db, Channel.SMS, params["MessageSid"]) is not None
    sid = outbound_message(db)
    assert post_twilio(client, STATUS, tw.status_params(sid, "delivered")).status_code == 204
    with db.read() as session:
        message = session.scalars(select(Message).where(Message.provider_id == sid)).one()
        assert message.status == MessageStatus.DELIVERED


def assert_telegram_still_works(client: FlaskClient, db: Database) -> None:
    update = tg.text_update("Toujours là", update_id=next(_good_update_ids), chat_id=GOOD_CHAT)
    assert post_telegram(client, update).status_code == 200
    assert stored(db, Channel.TELEGRAM, str(update["update_id"])) is not None


# --- each case that answered 500 ---


def test_num_media_of_five_thousand_digits_is_described_not_a_500(
    client: FlaskClient, db: Database
) -> None:
    params = tw.inbound_params("")
    params["NumMedia"] = "9" * 5000

    response = post_twilio(client, INBOUND, params)

    assert response.status_code == 200
    message = stored(db, Channel.SMS, params["MessageSid"])
    assert message is not None
    assert message.kind == "media"
    assert (message.text or "").startswith("[file]")
    assert_twilio_still_works(client, db)


@pytest.mark.parametrize("field", ["From", "MessageSid"], ids=["nul-in-from", "nul-in-message-sid"])
def test_nul_in_an_inbound_identifier_is_refused(
    client: FlaskClient, db: Database, field: str
) -> None:
    params = tw.inbound_params("Bonjour")
    params[field] = params[field][:5] + "\x00" + params[field][5:]

    response = post_twilio(client, INBOUND, params)

    assert response.status_code == 400
    with db.read() as session:
        assert session.scalars(select(Message)).first() is None
    assert_twilio_still_works(client, db)


@pytest.mark.parametrize("field", ["MessageSid", "SmsSid"])
def test_nul_in_a_status_callback_sid_is_refused(
    client: FlaskClient, db: Database, field: str
) -> None:
    sid = outbound_message(db)
    params = tw.status_params(sid, "delivered")
    if field == "SmsSid":
        del params["MessageSid"]
    params[field] = sid + "\x00"

    response = post_twilio(client, STATUS, params)

    assert response.status_code == 400
    assert_twilio_still_works(client, db)


def test_nul_in_a_status_callback_error_code_is_refused(client: FlaskClient, db: Database) -> None:
    sid = outbound_message(db)

    response = post_twilio(client, STATUS, tw.status_params(sid, "failed", error_code="300\x0003"))

    assert response.status_code == 400
    with db.read() as session:
        message = session.scalars(select(Message).where(Message.provider_id == sid)).one()
        assert message.status == MessageStatus.SENT
        assert message.error_code is None
    assert_twilio_still_works(client, db)


@pytest.mark.parametrize(
    "value",
    [int("9" * 65), -int("9" * 65), 2**63, -(2**63) - 1],
    ids=["65-digits", "minus-65-digits", "2**63", "-2**63-1"],
)
@pytest.mark.parametrize("field", ["update_id", "chat.id"])
def test_a_telegram_id_beyond_64_bits_is_refused(
    client: FlaskClient, db: Database, field: str, value: int
) -> None:
    update = tg.text_update("Bonjour")
    if field == "update_id":
        update["update_id"] = value
    else:
        update["message"]["chat"]["id"] = value

    response = post_telegram(client, update)

    assert response.status_code == 400
    with db.read() as session:
        assert session.scalars(select(Message)).first() is None
    assert_telegram_still_works(client, db)


def test_telegram_ids_at_the_64_bit_bounds_are_accepted(client: FlaskClient, db: Database) -> None:
    for value in (2**63 - 1, -(2**63)):
        update = tg.text_update("Bonjour", update_id=value, chat_id=value)
        assert post_telegram(client, update).status_code == 200
        assert stored(db, Channel.TELEGRAM, str(value)) is not None


@pytest.mark.parametrize(
    "code",
    ["fr\x00", "\x00", "\ud83d", "fr\udc00", "uk\ud800-UA"],
    ids=["nul-after", "nul-alone", "lone-high-surrogate", "lone-low-surrogate", "in-a-tag"],
)
def test_a_telegram_language_code_that_is_not_a_tag_is_dropped(
    client: FlaskClient, db: Database, code: str
) -> None:
    update = tg.text_update("Bonjour", language_code=code)

    response = post_telegram(client, update)

    assert response.status_code == 200
    message = stored(db, Channel.TELEGRAM, str(update["update_id"]))
    assert message is not None
    with db.read() as session:
        contact = session.get(Contact, message.contact_id)
        assert contact is not None
        assert contact.language_hint is None
    assert_telegram_still_works(client, db)


def test_the_poller_gets_no_language_hint_it_could_not_store() -> None:
    # The local poller shares parse_update: a hint that failed to store was retried for ever.
    parsed = parse_update(tg.text_update("Bonjour", language_code="fr\x00"), NOW)
    assert isinstance(parsed, InboundMessage)
    assert parsed.language_hint is None


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("pt-br", "pt-br"),
        (" uk ", "uk"),
        ("zh_Hant", "zh_Hant"),
        ("zh-hans-CN-x-private1", "zh-hans-CN-x"),
    ],
)
def test_a_language_tag_is_kept_within_its_column(code: str, hint: str) -> None:
    parsed = parse_update(tg.text_update("Bonjour", language_code=code), NOW)
    assert isinstance(parsed, InboundMessage)
    assert parsed.language_hint == hint


def test_a_json_integer_beyond_python_s_digit_limit_is_a_400(
    client: FlaskClient, db: Database
) -> None:
    body = json.dumps(tg.text_update("Bonjour", update_id=1)).replace(
        '"update_id": 1', '"update_id": ' + "7" * 5000
    )

    assert post_telegram(client, body.encode()).status_code == 400
    assert_telegram_still_works(client, db)


# --- property tests: every field, arbitrary values ---

_SPECIAL = [
    "",
    " ",
    "\x00",
    "SM\x00" + "a" * 32,
    "\ud800",
    "a\udfff",
    "\ud83d\ude00",
    "0" * 5000,
    "9" * 5000,
    "1" * 65,
    "-" + "9" * 64,
    "x" * 10_000,
    "\u202e+33639980101",
    "\ufeff",
    "\r\n",
    "whatsapp:",
    "whatsapp:\x00",
    "whatsapp:+33639980101",
    "¹²³",
    "٣",
    "failed",
    "delivered",
    " Delivered ",
    "30003",
    "21610",
    "image/jpeg",
]
nasty_text = st.one_of(
    st.sampled_from(_SPECIAL),
    st.text(max_size=80),  # with NUL and every other control character
    st.text(st.characters(exclude_categories=()), max_size=40),  # with lone surrogates
    st.text("0123456789", min_size=15, max_size=5000),
    st.integers().map(str),
    st.builds(lambda char, n: char * n, st.characters(exclude_categories=()), st.integers(1, 9000)),
)
big_ints = st.one_of(
    st.integers(),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 0, -1]),
    st.integers(-(2**70), 2**70),
    st.integers(-(10**200), 10**200),
)
json_scalars = st.one_of(st.none(), st.booleans(), big_ints, st.floats(allow_nan=False), nasty_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
    max_leaves=6,
)
# Deleted rather than set.
MISSING = object()

PROPERTY_SETTINGS = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every form field the inbound webhook reads, and some it does not.
INBOUND_FIELDS = [
    "MessageSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaContentType0",
    "MediaContentType1",
    "MediaUrl0",
    "Latitude",
    "Longitude",
    "SmsSid",
    "SmsMessageSid",
    "AccountSid",
    "NumSegments",
]
# Every form field the status callback reads, and some it does not.
STATUS_FIELDS = [
    "MessageSid",
    "SmsSid",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "To",
    "From",
    "AccountSid",
]


def _changes(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(nasty_text, st.just(MISSING))
    return st.dictionaries(st.sampled_from(fields), value, min_size=1, max_size=4)


def _apply(params: dict[str, str], changes: Mapping[str, Any]) -> dict[str, str]:
    for key, value in changes.items():
        if value is MISSING:
            params.pop(key, None)
        else:
            params[key] = value
    return params


def _storable_id(value: str, limit: int) -> bool:
    """The oracle: what bot/channels/webhook_fields.py accepts as an identifier."""
    return 0 < len(value) <= limit and not any(
        unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp")
        for char in value
    )


def expected_inbound(form: Mapping[str, str]) -> int:
    sid = form.get("MessageSid", "").strip()
    sender = form.get("From", "").strip()
    address = sender.removeprefix("whatsapp:")
    ok = _storable_id(sid, 64) and _storable_id(sender, 9 + 64) and _storable_id(address, 64)
    return 200 if ok else 400


def expected_status(form: Mapping[str, str]) -> int:
    sid = form.get("MessageSid", "").strip() or form.get("SmsSid", "").strip()
    reported = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip()
    error_code = form.get("ErrorCode", "").strip()
    if not _storable_id(sid, 64) or not reported:
        return 400
    if error_code and not _storable_id(error_code, 16):
        return 400
    return 204


def _answered(response: TestResponse, expected: int, body_size: int) -> None:
    event(f"answered {response.status_code}")  # --hypothesis-show-statistics
    assert response.status_code < 500, response.get_data(as_text=True)
    if body_size > MAX_BODY:
        assert response.status_code in (expected, 413)
    else:
        assert response.status_code == expected, response.get_data(as_text=True)


@PROPERTY_SETTINGS
@given(changes=_changes(INBOUND_FIELDS), media=st.booleans())
def test_any_inbound_form_is_answered_without_a_5xx(
    client: FlaskClient, db: Database, changes: dict[str, Any], media: bool
) -> None:
    base = tw.inbound_params("" if media else "Bonjour", media_types=("image/jpeg",) * media)
    params = _apply(base, changes)
    form = decoded(params)

    response = post_twilio(client, INBOUND, params)

    _answered(response, expected_inbound(form), len(_form_body(params)))
    if response.status_code == 200:
        sid = form["MessageSid"].strip()
        channel = Channel.WHATSAPP if form["From"].strip().startswith("whatsapp:") else Channel.SMS
        assert stored(db, channel, sid) is not None
    assert_twilio_still_works(client, db)


@PROPERTY_SETTINGS
@given(changes=_changes(STATUS_FIELDS), reported=st.sampled_from(["failed", "delivered", "read"]))
def test_any_status_callback_is_answered_without_a_5xx(
    client: FlaskClient, db: Database, changes: dict[str, Any], reported: str
) -> None:
    sid = outbound_message(db)
    params = _apply(tw.status_params(sid, reported, error_code="30003"), changes)
    form = decoded(params)

    response = post_twilio(client, STATUS, params)

    _answered(response, expected_status(form), len(_form_body(params)))
    assert_twilio_still_works(client, db)


# Where the webhook reads (or might read) a Telegram update: every field of the message,
# the chat and the sender, media, and the other kinds of update.
TELEGRAM_PATHS: list[tuple[str, ...]] = [
    ("update_id",),
    ("message",),
    ("message", "message_id"),
    ("message", "date"),
    ("message", "edit_date"),
    ("message", "chat"),
    ("message", "chat", "id"),
    ("message", "chat", "type"),
    ("message", "chat", "first_name"),
    ("message", "from"),
    ("message", "from", "id"),
    ("message", "from", "is_bot"),
    ("message", "from", "first_name"),
    ("message", "from", "language_code"),
    ("message", "text"),
    ("message", "caption"),
    ("message", "entities"),
    ("message", "voice"),
    ("message", "voice", "file_id"),
    ("message", "voice", "duration"),
    ("message", "photo"),
    ("message", "sticker"),
    ("message", "location"),
    ("callback_query",),
    ("callback_query", "data"),
    ("callback_query", "id"),
    ("edited_message",),
]


def _telegram_bases() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(
        [
            lambda: tg.text_update("Bonjour"),
            lambda: tg.start_update("fr"),
            lambda: tg.start_update("ref-mairie"),
            lambda: tg.photo_update(caption="Regardez"),
            lambda: tg.voice_update(),
            lambda: tg.sticker_update(),
            lambda: tg.edited_update("Bonsoir"),
            lambda: tg.callback_query_update(),
            lambda: tg.group_text_update("Salut"),
        ]
    ).map(lambda build: build())


def _set(update: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set (or delete) `path` in the update; "message" means whichever message it carries."""
    kind = next((k for k in ("message", "edited_message") if k in update), "message")
    path = (kind, *path[1:]) if path[0] == "message" else path
    node: Any = update
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        node = node[key]
    if value is MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in INT64


def expected_telegram(data: Any) -> int:
    """The oracle: 400 for what is not an update, 200 for everything else."""
    if not isinstance(data, dict) or not _int64(data.get("update_id")):
        return 400
    kind = next((k for k in ("message", "edited_message") if k in data), None)
    if kind is None:
        return 200
    message = data[kind]
    if not isinstance(message, dict):
        return 400
    chat = message.get("chat")
    if not isinstance(chat, dict) or not _int64(chat.get("id")):
        return 400
    if chat.get("type") != "private":
        return 200
    if not all(isinstance(message.get(f), str | None) for f in ("text", "caption")):
        return 400
    return 200


_INT_FIELDS = {"update_id", "id", "message_id", "date", "edit_date", "duration"}


_BEYOND_INT64 = st.one_of(st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1))
# The ids the webhook reads, drawn more often than the rest.
_READ_IDS: list[tuple[str, ...]] = [("update_id",), ("message", "chat", "id")]


def _value_for(path: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Arbitrary JSON anywhere; more often out-of-range integers where integers belong."""
    anything = st.one_of(json_values, nasty_text, st.just(MISSING))
    return st.one_of(_BEYOND_INT64, big_ints, anything) if path[-1] in _INT_FIELDS else anything


def _telegram_change() -> st.SearchStrategy[tuple[tuple[str, ...], Any]]:
    return st.sampled_from(TELEGRAM_PATHS + _READ_IDS * 3).flatmap(
        lambda path: st.tuples(st.just(path), _value_for(path))
    )


@PROPERTY_SETTINGS
@given(base=_telegram_bases(), changes=st.lists(_telegram_change(), min_size=1, max_size=4))
def test_any_telegram_update_is_answered_without_a_5xx(
    client: FlaskClient,
    db: Database,
    base: dict[str, Any],
    changes: list[tuple[tuple[str, ...], Any]],
) -> None:
    for path, value in changes:
        _set(base, path, value)
    body = json.dumps(base).encode()
    data = json.loads(body)  # what the app reads: lone surrogates and all

    response = post_telegram(client, body)

    _answered(response, expected_telegram(data), len(body))
    assert_telegram_still_works(client, db)


@PROPERTY_SETTINGS
@given(code=st.one_of(nasty_text, json_values))
def test_any_language_code_keeps_the_message(client: FlaskClient, db: Database, code: Any) -> None:
    update = tg.text_update("Bonjour")
    update["message"]["from"]["language_code"] = code

    response = post_telegram(client, update)

    assert response.status_code == 200
    message = stored(db, Channel.TELEGRAM, str(update["update_id"]))
    assert message is not None
    with db.read() as session:
        contact = session.get(Contact, message.contact_id)
        assert contact is not None
        hint = contact.language_hint
    assert hint is None or (hint.isascii() and hint.isprintable() and len(hint) <= 16)
    assert_telegram_still_works(client, db)
