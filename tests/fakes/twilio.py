"""A fake Twilio REST API on 127.0.0.1, reached through the real SDK, and webhook builders.

It implements the one endpoint Relais calls — creating a message — records every request,
and can be scripted to fail the ways Twilio does: 429 with Retry-After, 500, a slow
answer, an error code (21610, 21614, 30003…), a dropped connection, or being down.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from tests.fakes.server import FakeServer, KeepAliveHandler

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-twilio-auth-token"
SENDER = "+33639980000"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
PUBLIC_URL = "https://relais.example.org"
# Where a test that never sends points the SDK: the discard port, nothing listens there.
UNUSED_API_URL = "http://127.0.0.1:9"

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-zA-Z]{32})/Messages\.json$")

# The HTTP status Twilio's REST API answers with each error code.
_ERROR_STATUS = {20003: 401, 20404: 404, 20429: 429}
_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "Invalid 'To' Phone Number",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    30003: "Unreachable destination handset",
}


def settings_overrides(
    api_url: str = UNUSED_API_URL,
    *,
    sender: str | None = SENDER,
    messaging_service_sid: str | None = None,
    public_url: str | None = PUBLIC_URL,
) -> dict[str, Any]:
    """Settings fields that turn the Twilio channel on against `api_url`."""
    return {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": sender,
        "twilio_messaging_service_sid": messaging_service_sid,
        "twilio_api_url": api_url,
        "public_url": public_url,
    }


def twilio_error(code: int, status: int | None = None) -> dict[str, Any]:
    """An error body as Twilio's REST API writes it."""
    return {
        "code": code,
        "message": _ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status or _ERROR_STATUS.get(code, 400),
    }


@dataclass(frozen=True)
class Scripted:
    """One scripted answer, used instead of success for the next request."""

    status: int = 201
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Close the connection without answering.
    hang_up: bool = False

    @classmethod
    def error(cls, code: int) -> Scripted:
        """A Twilio error code with the HTTP status Twilio gives it."""
        body = twilio_error(code)
        return cls(status=body["status"], body=body)

    @classmethod
    def too_many_requests(cls, retry_after: float | None = None) -> Scripted:
        """429 / 20429, with a Retry-After header when given."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(status=429, body=twilio_error(20429), headers=headers)

    @classmethod
    def server_error(cls, status: int = 500) -> Scripted:
        """A 5xx with an HTML body, as a load balancer answers."""
        return cls(status=status, body=None, headers={"Content-Type": "text/html"})

    @classmethod
    def slow(cls, seconds: float) -> Scripted:
        """Success, but only after `seconds`."""
        return cls(delay=seconds)

    @classmethod
    def dropped(cls) -> Scripted:
        """The connection closes before any answer."""
        return cls(hang_up=True)


@dataclass(frozen=True)
class Received:
    """One request to create a message, and what the fake answered."""

    account_sid: str
    to: str | None
    from_: str | None
    body: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    form: Mapping[str, str]
    # time.monotonic() on arrival: the real clock even when a test freezes datetime.
    at: float
    answered: int
    sid: str | None


class FakeTwilio(FakeServer):
    """Twilio's Messages endpoint on 127.0.0.1:<random port>, in a thread."""

    name = "fake-twilio"

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.received: list[Received] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()

    @property
    def sent(self) -> list[Received]:
        """The requests that were accepted (2xx): the messages Twilio would send."""
        with self._lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def settings_overrides(self, **kwargs: Any) -> dict[str, Any]:
        """Settings fields pointing Relais at this fake."""
        return settings_overrides(self.url, **kwargs)

    def script(self, *answers: Scripted) -> None:
        """Answer the next requests with these, in order; then succeed again."""
        with self._lock:
            self._script.extend(answers)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"fake": self})

    # --- used by the handler ---

    def next_answer(self) -> Scripted | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


class _Handler(KeepAliveHandler):
    fake: FakeTwilio

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8")
        match = _MESSAGES_PATH.match(self.path)
        if match is None or match["account"] != self.fake.account_sid:
            self._json(404, twilio_error(20404))
            return
        if not self.fake.authorised(self.headers.get("Authorization")):
            self._json(401, twilio_error(20003))
            return
        form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        answer = self.fake.next_answer() or Scripted()
        sid = "SM" + uuid.uuid4().hex if answer.status < 300 and not answer.hang_up else None
        self.fake.record(
            Received(
                account_sid=match["account"],
                to=form.get("To"),
                from_=form.get("From"),
                body=form.get("Body"),
                messaging_service_sid=form.get("MessagingServiceSid"),
                status_callback=form.get("StatusCallback"),
                form=form,
                at=time.monotonic(),
                answered=0 if answer.hang_up else answer.status,
                sid=sid,
            )
        )
        if answer.delay:
            self.fake.wait(answer.delay)
        if answer.hang_up:
            self.close_connection = True
            return
        if sid is not None:
            self._json(answer.status, self._message(sid, form), answer.headers)
        elif answer.body is not None:
            self._json(answer.status, answer.body, answer.headers)
        else:
            self._reply(answer.status, b"<html>Service Unavailable</html>", answer.headers)

    def _message(self, sid: str, form: Mapping[str, str]) -> dict[str, Any]:
        """A message resource shaped like Twilio's answer to a create."""
        account, now = self.fake.account_sid, format_datetime(datetime.now(UTC), usegmt=True)
        service, sender = form.get("MessagingServiceSid"), form.get("From")
        return {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            # Through a messaging service without a sender, Twilio first "accepts".
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
            },
            "to": form.get("To"),
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }

    def _json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] = {}) -> None:
        payload = json.dumps(body).encode()
        self._reply(status, payload, {"Content-Type": "application/json", **headers})

    def _reply(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up waiting (a scripted slow answer): nothing to tell


def sign(url: str, params: Mapping[str, str], auth_token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
    signature: str = RequestValidator(auth_token).compute_signature(url, params)
    return signature


def inbound_params(
    body: str,
    *,
    from_: str = "+33639980101",
    sid: str | None = None,
    whatsapp: bool = False,
    media_types: tuple[str, ...] = (),
) -> dict[str, str]:
    """The form fields of an inbound SMS (or WhatsApp) webhook, as Twilio posts them."""
    prefix = "whatsapp:" if whatsapp else ""
    sid = sid or "SM" + uuid.uuid4().hex
    params = {
        "ToCountry": "FR",
        "SmsMessageSid": sid,
        "NumMedia": str(len(media_types)),
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": prefix + SENDER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": prefix + from_,
        "ApiVersion": "2010-04-01",
    }
    for index, content_type in enumerate(media_types):
        params[f"MediaContentType{index}"] = content_type
        params[f"MediaUrl{index}"] = (
            f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/ME{index}"
        )
    return params


def status_params(
    sid: str, status: str, *, error_code: str | None = None, to: str = "+33639980101"
) -> dict[str, str]:
    """The form fields of a status callback for the message `sid`."""
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": to,
        "From": SENDER,
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
    }
    if error_code is not None:
        params["ErrorCode"] = error_code
    return params


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A running fake Twilio REST API, stopped after the test."""
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()
