"""Reading Telegram updates: what reaches the conversation service, what is refused or ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.telegram_webhook import Ignored, MalformedUpdate, parse_update
from bot.reception import InboundMessage
from storage.models import Channel
from tests.fakes import telegram as build

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def inbound(data: dict[str, Any]) -> InboundMessage:
    parsed = parse_update(data, NOW)
    assert isinstance(parsed, InboundMessage)
    return parsed


def test_a_private_text_message_becomes_an_inbound_message() -> None:
    data = build.text_update("Bonjour", language_code="uk", update_id=4242)

    message = inbound(data)

    assert message == InboundMessage(
        channel=Channel.TELEGRAM,
        address=str(build.CHAT_ID),
        text="Bonjour",
        received_at=NOW,
        provider_id="4242",
        language_hint="uk",
    )


def test_a_person_without_a_language_code_gives_no_hint() -> None:
    assert inbound(build.text_update("Salut", language_code=None)).language_hint is None


@pytest.mark.parametrize(
    ("payload", "language"),
    [("ar", "ar"), ("fa_AF", "fa_AF"), ("uk", "uk"), ("pt-BR", "pt"), ("prs", "fa_AF")],
)
def test_a_start_payload_naming_a_language_is_the_language_hint(
    payload: str, language: str
) -> None:
    message = inbound(build.start_update(payload, language_code="fr"))

    assert message.kind == "start"
    assert message.language_hint == language
    assert message.referral is None


def test_a_start_payload_with_a_referral_keeps_the_source() -> None:
    message = inbound(build.start_update("ref-mairie-13", language_code="tr"))

    assert message.referral == "mairie-13"
    assert message.language_hint == "tr"


@pytest.mark.parametrize("payload", [None, "hello", "de", "ref-", "ref-a b"])
def test_a_start_without_a_usable_payload_keeps_the_persons_language_code(
    payload: str | None,
) -> None:
    message = inbound(build.start_update(payload, language_code="uk"))

    assert message.kind == "start"
    assert message.language_hint == "uk"
    assert message.referral is None


def test_start_passes_on_an_empty_text_so_it_is_never_taken_for_an_answer() -> None:
    assert inbound(build.start_update("ar")).text == ""


def test_start_addressed_to_the_bot_by_name_is_still_start() -> None:
    data = build.text_update(f"/start@{build.BOT_USERNAME} ar")

    assert inbound(data).kind == "start"
    assert inbound(data).language_hint == "ar"


@pytest.mark.parametrize("text", ["/starting", "start", "/help", "please /start"])
def test_other_commands_and_words_are_plain_text(text: str) -> None:
    message = inbound(build.text_update(text))

    assert message.kind == "text"
    assert message.text == text


@pytest.mark.parametrize(
    ("data", "kind", "text"),
    [
        (build.sticker_update(), "sticker", "[sticker]"),
        (build.photo_update(), "photo", "[photo]"),
        (build.photo_update(caption="my letter"), "photo", "[photo] my letter"),
        (build.voice_update(), "voice", "[voice]"),
        (build.edited_update("I meant Tuesday"), "edited", "[edited] I meant Tuesday"),
    ],
)
def test_what_is_not_new_text_reaches_the_service_with_its_kind(
    data: dict[str, Any], kind: str, text: str
) -> None:
    message = inbound(data)

    assert message.kind == kind
    assert message.text == text
    assert message.language_hint == "fr"


@pytest.mark.parametrize(
    "data",
    [
        build.callback_query_update(),
        build.channel_post_update("News"),
        build.my_chat_member_update(),
        build.group_text_update("hello group"),
        build.update("message", build.message(new_chat_title="Renamed")),
        {"update_id": 7},
    ],
)
def test_updates_relais_does_not_act_on_are_ignored_with_a_reason(data: dict[str, Any]) -> None:
    parsed = parse_update(data, NOW)

    assert isinstance(parsed, Ignored)
    assert parsed.update_id == data["update_id"]
    assert parsed.reason


@pytest.mark.parametrize(
    "data",
    [
        [],
        "update",
        None,
        {},
        {"update_id": "12"},
        {"update_id": True, "message": {}},
        {"update_id": 1.5},
        {"update_id": 1, "message": "hello"},
        {"update_id": 1, "message": {"text": "no chat"}},
        {"update_id": 1, "message": {"chat": {"id": "12", "type": "private"}}},
        {"update_id": 1, "message": {"chat": {"id": 12, "type": "private"}, "text": 5}},
    ],
)
def test_what_is_not_an_update_is_malformed(data: Any) -> None:
    with pytest.raises(MalformedUpdate):
        parse_update(data, NOW)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
# Keys an update really uses, so generated objects get deep into the parser.
update_keys = st.sampled_from(
    [
        *("update_id", "message", "edited_message", "callback_query", "chat", "id", "type"),
        *("text", "from", "language_code", "caption", "sticker", "photo"),
    ]
)
update_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.just("private"),
    lambda children: st.dictionaries(update_keys, children, max_size=6),
    max_leaves=25,
)


@given(st.dictionaries(st.text(max_size=10), json_values) | update_like | json_values)
def test_no_json_value_makes_the_parser_fail_other_than_malformed(data: Any) -> None:
    try:
        parsed = parse_update(data, NOW)
    except MalformedUpdate:
        return
    assert isinstance(parsed, InboundMessage | Ignored)


@given(
    update_id=st.integers(min_value=0, max_value=2**53),
    text=st.text(min_size=1, max_size=4096),
    language_code=st.none() | st.text(max_size=35),
)
def test_any_private_text_message_is_read(
    update_id: int, text: str, language_code: str | None
) -> None:
    parsed = parse_update(
        build.text_update(text, update_id=update_id, language_code=language_code), NOW
    )

    assert isinstance(parsed, InboundMessage)
    assert parsed.provider_id == str(update_id)
    assert parsed.kind in {"text", "start"}
