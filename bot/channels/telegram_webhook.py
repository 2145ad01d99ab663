"""Telegram updates in: parse without the network, and `POST /webhooks/telegram`.

The webhook and the local poller (`telegram_poll`) share `receive_update`, so an update
means the same thing however it arrives. Parsing is plain dict reading: nothing here can
reach Telegram, and a strange payload is a 400 or an ignored update, never a 500.

What is read is checked before it reaches the database (`webhook_fields`): the update
and chat ids must fit in 64 bits (else the update is malformed), text is cleaned, and a
`language_code` that is not a language tag is dropped (the message is kept).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, request

from bot import clock
from bot.channels.webhook_fields import is_int64, language_tag
from bot.extensions import reception, settings
from bot.i18n import shipped_language
from bot.inbound_text import clean_text
from bot.reception import Handled, InboundMessage, Reception
from storage.models import Channel

log = logging.getLogger(__name__)
blueprint = Blueprint("telegram_webhook", __name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# What we ask Telegram for (setWebhook, getUpdates); anything else is ignored anyway.
ALLOWED_UPDATES = ("message", "edited_message")
# Non-text content, checked in this order: Telegram also sets `document` on an animation
# and `location` on a venue, and the more precise name is more useful to a worker.
MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video_note",
    "video",
    "audio",
    "animation",
    "document",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
    "story",
)
_START = re.compile(r"/start(?:@\w+)?(?:\s+(?P<payload>.*))?", re.DOTALL)
_LANGUAGE_PAYLOAD = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z]{2})?")
_REFERRAL_PAYLOAD = re.compile(r"ref-(?P<source>[A-Za-z0-9_-]{1,60})")


class MalformedUpdate(ValueError):
    """The body is not a Telegram update: answered with 400, nothing stored."""


@dataclass(frozen=True)
class Ignored:
    """A well-formed update Relais does not act on (group chats, callback queries…)."""

    update_id: int
    reason: str


def parse_update(data: Any, now: datetime) -> InboundMessage | Ignored:
    """Turn a decoded update into a message for the conversation service, or say why not."""
    if not isinstance(data, dict):
        raise MalformedUpdate("an update is a JSON object")
    update_id = data.get("update_id")
    if not is_int64(update_id):
        raise MalformedUpdate("update_id must be a 64-bit integer")
    if "message" in data:
        kind, message = "message", data["message"]
    elif "edited_message" in data:
        kind, message = "edited_message", data["edited_message"]
    else:
        other = next((key for key in data if key != "update_id"), "nothing")
        return Ignored(update_id, f"unsupported update ({str(other)[:40]})")
    if not isinstance(message, dict):
        raise MalformedUpdate(f"{kind} must be an object")
    chat = message.get("chat")
    if not isinstance(chat, dict) or not is_int64(chat.get("id")):
        raise MalformedUpdate(f"{kind}.chat.id must be a 64-bit integer")
    if chat.get("type") != "private":
        return Ignored(update_id, f"not a private chat ({str(chat.get('type'))[:20]})")
    text = message.get("text")
    caption = message.get("caption")
    if not isinstance(text, str | None) or not isinstance(caption, str | None):
        raise MalformedUpdate(f"{kind}.text and {kind}.caption must be strings")
    text, caption = (None if t is None else clean_text(t) for t in (text, caption))
    sender = message.get("from")
    code = language_tag(sender.get("language_code")) if isinstance(sender, dict) else None
    inbound = InboundMessage(
        channel=Channel.TELEGRAM,
        address=str(chat["id"]),
        text=text or "",
        received_at=now,
        provider_id=str(update_id),
        language_hint=code,
    )
    if kind == "edited_message":
        # The flow already took the first version; the edit is kept for a worker to read.
        return replace(inbound, kind="edited", text=_described("edited", text or caption))
    if text is None:
        media = next((name for name in MEDIA_KINDS if name in message), None)
        if media is None:
            return Ignored(update_id, "a service message (no text, no media)")
        return replace(inbound, kind=media, text=_described(media, caption))
    start = _START.fullmatch(text.strip())
    if start is not None:
        return _start(inbound, update_id, (start.group("payload") or "").strip())
    return inbound


def receive_update(reception: Reception, data: Any, now: datetime) -> Handled | None:
    """Parse one update and store it (the worker processes it); None when it is ignored."""
    return store_update(reception, parse_update(data, now))


def store_update(reception: Reception, parsed: InboundMessage | Ignored) -> Handled | None:
    """Store a parsed update (the worker processes it); None when it is ignored."""
    if isinstance(parsed, Ignored):
        log.info("telegram: ignoring update %s: %s", parsed.update_id, parsed.reason)
        return None
    handled = reception.receive(parsed)
    if handled.duplicate:
        log.info("telegram: update %s was already handled", parsed.provider_id)
    return handled


@blueprint.post("/webhooks/telegram")
def telegram_webhook() -> Response:
    """Verify the secret token, then store and answer the update; 200 for anything well-formed."""
    config = settings()
    if not config.telegram_enabled:
        abort(404)
    secret = config.telegram_webhook_secret
    if not secret:
        log.error("telegram: refusing a webhook call: TELEGRAM_WEBHOOK_SECRET must be set")
        return _plain("forbidden", 403)
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("telegram: webhook call with a missing or wrong secret token")
        return _plain("forbidden", 403)
    try:
        parsed = parse_update(json.loads(request.get_data(cache=False)), clock.now())
    except (ValueError, RecursionError) as exc:
        # MalformedUpdate, and json's own errors (invalid JSON, undecodable bytes, nesting,
        # an integer of more than 4300 digits).
        reason = str(exc) if isinstance(exc, MalformedUpdate) else "the body is not valid JSON"
        log.warning("telegram: rejecting a webhook call: %s", reason)
        return _plain(reason, 400)
    # Outside the try: a failure to store is the server's (a 500 Telegram retries), not a
    # malformed update (a UnicodeEncodeError is a ValueError, and used to pass for one).
    store_update(reception(), parsed)
    return _plain("", 200)


def _start(inbound: InboundMessage, update_id: int, payload: str) -> InboundMessage:
    # A deep link (t.me/<bot>?start=<payload>) carries a language or where the person
    # heard of us. The text stays empty: a new person's first message starts first
    # contact whatever it says, and an empty text is never saved as someone's answer.
    language = shipped_language(payload) if _LANGUAGE_PAYLOAD.fullmatch(payload) else None
    referral = _REFERRAL_PAYLOAD.fullmatch(payload)
    if payload and language is None and referral is None:
        log.info("telegram: update %s has an unknown /start payload", update_id)
    return replace(
        inbound,
        kind="start",
        text="",
        language_hint=language or inbound.language_hint,
        referral=referral.group("source") if referral else None,
    )


def _described(kind: str, words: str | None) -> str:
    return f"[{kind}] {words}" if words else f"[{kind}]"


def _plain(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")
