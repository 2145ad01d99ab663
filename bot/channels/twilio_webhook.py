"""Twilio webhooks: inbound SMS and WhatsApp messages, and delivery status callbacks.

Verify, store, acknowledge. A request is checked against `X-Twilio-Signature`, which
Twilio computes over the URL it called. Behind a reverse proxy Flask sees another URL
(http://127.0.0.1:8000/…) than the public one Twilio signed: set PUBLIC_URL to the
external base (with any path prefix the app is mounted under) and it is used instead.
Nothing here calls Twilio; replies wait in the outbox for the worker.

Every field read is checked before it reaches the database (`webhook_fields`): a sid, an
address or an error code that could not be stored as it is (NUL, a control character,
too long…) refuses the request with a 400, as a missing one does. Twilio never sends
such a value and does not resend a message refused with a 4xx: the refusal is logged
and shows in Twilio's debugger. The body and the media count are only described, never
refused.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from bot import clock
from bot.channels.twilio import WHATSAPP_PREFIX, twilio_address_problem
from bot.channels.webhook_fields import storable_identifier
from bot.delivery import mark_address, record_status
from bot.extensions import database, reception, settings
from bot.inbound_text import clean_text
from bot.reception import InboundMessage
from storage.models import Channel, ContactAddress, MessageStatus

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio", __name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# The column sizes: a longer value is not something Twilio sends.
_MAX_ADDRESS = 64
_MAX_PROVIDER_ID = 64
_MAX_ERROR_CODE = 16
# Twilio delivers at most 10 media items with a message.
_MAX_MEDIA = 10

# Statuses Twilio reports that Relais tracks; others (accepted, scheduled, canceled…)
# say nothing about delivery and are acknowledged without change.
_TRACKED_STATUSES = {
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
}
_FAILED = frozenset({MessageStatus.UNDELIVERED, MessageStatus.FAILED})

_MEDIA_LABELS = {"image": "[photo]", "audio": "[audio]", "video": "[video]"}


class Rejected(Exception):
    """A webhook request that is refused, with the status and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@blueprint.errorhandler(Rejected)
def _rejected(error: Rejected) -> Response:
    log.warning("twilio webhook %s refused (%d): %s", request.path, error.status, error.reason)
    return Response(error.reason + "\n", status=error.status, mimetype="text/plain")


@blueprint.post("/webhooks/twilio")
def inbound() -> Response:
    """Store a verified inbound message (the worker processes it); answer empty TwiML."""
    form = _verified_form()
    message = parse_inbound(form)
    handled = reception().receive(message)
    if handled.duplicate:
        log.info("twilio message %s was already handled", message.provider_id)
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


@blueprint.post("/webhooks/twilio/status")
def status() -> Response:
    """Record a delivery status; a failure that condemns the address marks it."""
    form = _verified_form()
    sid = _identifier(form, ("MessageSid", "SmsSid"), _MAX_PROVIDER_ID)
    reported = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if sid is None or not reported:
        raise Rejected(400, "MessageSid and MessageStatus are required")
    # Refused rather than dropped or cut: a stored code decides what a failure means.
    error_code = _identifier(form, ("ErrorCode",), _MAX_ERROR_CODE)
    tracked = _TRACKED_STATUSES.get(reported)
    if tracked is None:
        log.info("twilio status %r for %s ignored", reported[:40], sid)
        return Response(status=204)
    now = clock.now()
    with database().write() as session:
        message = record_status(
            session,
            _channel(form.get("To") or form.get("From") or ""),
            sid,
            tracked,
            now,
            error_code=error_code,
        )
        # Only when the failure was applied: a late "failed" after "delivered" is noise.
        if message is None or error_code is None or message.status not in _FAILED:
            return Response(status=204)
        problem = twilio_address_problem(error_code)
        address = session.get(ContactAddress, message.address_id) if message.address_id else None
        if problem is not None and address is not None:
            mark_address(session, address, problem, now, detail=f"Twilio error {error_code}")
    return Response(status=204)


def parse_inbound(form: MultiDict[str, str]) -> InboundMessage:
    """Turn Twilio's form fields into an InboundMessage; raise Rejected when unusable."""
    sid = _identifier(form, ("MessageSid",), _MAX_PROVIDER_ID)
    sender = _identifier(form, ("From",), len(WHATSAPP_PREFIX) + _MAX_ADDRESS)
    if sid is None or sender is None:
        raise Rejected(400, "MessageSid and From are required")
    channel = _channel(sender)
    address = sender.removeprefix(WHATSAPP_PREFIX)
    if not address or len(address) > _MAX_ADDRESS:
        raise Rejected(400, "From is malformed")
    body = clean_text(form.get("Body") or "")
    kind, text = "text", body
    if not body.strip():
        media = _describe_media(form)
        if media:
            # The flows see the description as an answer; a step that expects text
            # will re-ask, which is what a person sending a photo needs anyway.
            kind, text = "media", media
    return InboundMessage(
        channel=channel,
        address=address,
        text=text,
        received_at=clock.now(),
        provider_id=sid,
        kind=kind,
    )


def _describe_media(form: MultiDict[str, str]) -> str:
    """ "[photo]", "[audio] [photo]"…: what came without text, one label per item."""
    raw = (form.get("NumMedia") or "0").strip()
    # A count Twilio sent garbled still means something arrived; never drop the message.
    # isascii too: "¹" passes isdigit() but int() refuses it. A count of more than three
    # digits is not parsed (int() refuses over 4300): it is the most there can be.
    digits = raw.lstrip("0")
    if not (raw.isascii() and raw.isdigit()):
        count = 1
    else:
        count = _MAX_MEDIA if len(digits) > 3 else min(int(digits or "0"), _MAX_MEDIA)
    labels = []
    for index in range(count):
        content_type = form.get(f"MediaContentType{index}") or ""
        labels.append(_MEDIA_LABELS.get(content_type.partition("/")[0], "[file]"))
    if not labels and form.get("Latitude") and form.get("Longitude"):
        labels.append("[location]")
    return " ".join(labels)


def _identifier(form: MultiDict[str, str], names: tuple[str, ...], limit: int) -> str | None:
    """The first of `names` given (not blank), stripped; None if none is; Rejected if unusable.

    Unusable: it could not be stored as it is (see `webhook_fields.storable_identifier`).
    """
    for name in names:
        raw = form.get(name) or ""
        if not raw.strip():
            continue
        value = storable_identifier(raw, limit)
        if value is None:
            raise Rejected(400, f"{name} is malformed")
        return value
    return None


def _channel(address: str) -> Channel:
    return Channel.WHATSAPP if address.startswith(WHATSAPP_PREFIX) else Channel.SMS


def _verified_form() -> MultiDict[str, str]:
    """The request's form, once its signature matches; Rejected otherwise."""
    current = settings()
    if not current.twilio_enabled or current.twilio_auth_token is None:
        raise Rejected(404, "the Twilio channel is not configured")
    signature = request.headers.get("X-Twilio-Signature", "")
    # Reading the form first: a body over MAX_CONTENT_LENGTH stops here with a 413.
    form = request.form
    if not signature:
        raise Rejected(403, "X-Twilio-Signature is missing")
    validator = RequestValidator(current.twilio_auth_token)
    if not validator.validate(_signed_url(current.public_url), form, signature):
        raise Rejected(403, "X-Twilio-Signature does not match")
    return form


def _signed_url(public_url: str | None) -> str:
    """The URL Twilio called, as it signed it."""
    if public_url is None:
        return request.url
    query = request.query_string.decode("utf-8", "replace")
    return public_url + request.path + (f"?{query}" if query else "")
