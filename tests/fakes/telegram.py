"""A fake Telegram Bot API on 127.0.0.1, reached through the real python-telegram-bot, and
update builders.

It implements what Relais calls — getMe, sendMessage, getUpdates, setWebhook,
deleteWebhook — records every request, serves updates a test pushes, and can be scripted
to fail the ways Telegram does: 429 with retry_after, 500, 403 blocked, 400 chat not
found, a slow answer, or being down (connections refused).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.fakes.server import FakeServer, KeepAliveHandler

BOT_ID = 123456789
TOKEN = f"{BOT_ID}:AAE-relais-fake-telegram-token-0123"
WEBHOOK_SECRET = "relais-test-webhook-secret"
BOT_USERNAME = "relais_test_bot"
# The person most tests talk as, in a private chat (chat id = user id).
CHAT_ID = 700100200

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>\w+)$")
# PTB form-encodes every parameter, JSON-encoding the ones that are not strings.
_JSON_FIELDS = frozenset(
    {"reply_markup", "allowed_updates", "offset", "timeout", "limit", "drop_pending_updates"}
)
_BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Relais", "username": BOT_USERNAME}


def settings_overrides(
    api_url: str, *, webhook_secret: str | None = WEBHOOK_SECRET
) -> dict[str, Any]:
    """Settings fields that turn the Telegram channel on against `api_url`."""
    return {
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": webhook_secret,
        "telegram_api_url": api_url,
    }


def api_error(status: int, description: str, **parameters: Any) -> dict[str, Any]:
    """An error body as the Bot API writes it."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


@dataclass(frozen=True)
class Scripted:
    """One scripted answer, used instead of the normal one for the next matching request."""

    status: int = 200
    # None: answer normally (after `delay`).
    body: Mapping[str, Any] | None = None
    delay: float = 0.0

    @classmethod
    def too_many_requests(cls, retry_after: int = 2) -> Scripted:
        """429 with parameters.retry_after, as flood control answers."""
        description = f"Too Many Requests: retry after {retry_after}"
        return cls(429, api_error(429, description, retry_after=retry_after))

    @classmethod
    def server_error(cls) -> Scripted:
        return cls(500, api_error(500, "Internal Server Error"))

    @classmethod
    def blocked(cls) -> Scripted:
        """The person blocked the bot."""
        return cls(403, api_error(403, "Forbidden: bot was blocked by the user"))

    @classmethod
    def deactivated(cls) -> Scripted:
        """The person deleted their Telegram account."""
        return cls(403, api_error(403, "Forbidden: user is deactivated"))

    @classmethod
    def chat_not_found(cls) -> Scripted:
        return cls(400, api_error(400, "Bad Request: chat not found"))

    @classmethod
    def bad_request(cls, description: str = "Bad Request: message text is empty") -> Scripted:
        return cls(400, api_error(400, description))

    @classmethod
    def slow(cls, seconds: float) -> Scripted:
        """The normal answer, after `seconds`."""
        return cls(delay=seconds)


@dataclass
class Request:
    """One call to the Bot API, recorded on arrival, and what the fake answered."""

    method: str
    params: Mapping[str, Any]
    # time.monotonic() on arrival: the real clock even when a test freezes datetime.
    at: float
    # None while the answer is pending (a long poll, a slow answer).
    answered: int | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the fake accepted (sendMessage answered 200)."""

    chat_id: int | str
    text: str
    reply_markup: Mapping[str, Any] | None
    message_id: int

    @property
    def buttons(self) -> list[list[str]]:
        """The reply keyboard's button texts, row by row ([] without a keyboard)."""
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [[b["text"] if isinstance(b, dict) else b for b in row] for row in rows]

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))


class FakeTelegram(FakeServer):
    """The Bot API methods Relais uses, on 127.0.0.1:<random port>, in a thread."""

    name = "fake-telegram"

    def __init__(
        self, token: str = TOKEN, *, max_long_poll: float = 30.0, latency: float = 0.0
    ) -> None:
        super().__init__()
        self.token = token
        self.max_long_poll = max_long_poll
        # Seconds each sendMessage takes, like a real API across the Internet (benchmarks).
        self.latency = latency
        self.requests: list[Request] = []
        self.sent: list[SentMessage] = []
        # What setWebhook registered (url, secret_token, allowed_updates), until deleteWebhook.
        self.webhook: dict[str, Any] | None = None
        self._updates: deque[dict[str, Any]] = deque()
        self._script: dict[str, deque[Scripted]] = {}
        self._message_ids = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def settings_overrides(self, **kwargs: Any) -> dict[str, Any]:
        """Settings fields pointing Relais at this fake."""
        return settings_overrides(self.url, **kwargs)

    def calls(self, method: str) -> list[Request]:
        """The requests made to `method`, in order."""
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def script(self, *answers: Scripted, method: str = "sendMessage") -> None:
        """Answer the next calls to `method` with these, in order; then answer normally."""
        with self._lock:
            self._script.setdefault(method, deque()).extend(answers)

    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates (a waiting long poll returns at once)."""
        with self._changed:
            self._updates.extend(updates)
            self._changed.notify_all()

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Block until at least `count` messages were accepted; return them."""
        wait_until(lambda: len(self.sent) >= count, timeout, f"{count} sent message(s)")
        with self._lock:
            return list(self.sent)

    # --- lifecycle (FakeServer) ---

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"fake": self})

    def _on_stop(self) -> None:
        # Release any waiting long poll.
        with self._changed:
            self._changed.notify_all()

    # --- the API, called by the handler threads ---

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        """The status and JSON body for one call."""
        call = Request(method, params, time.monotonic())
        with self._lock:
            self.requests.append(call)
        status, body = self._answer(token, method, params)
        call.answered = status
        return status, body

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        if token != self.token:
            return 401, api_error(401, "Unauthorized")
        with self._lock:
            queue = self._script.get(method)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            self._stopping.wait(scripted.delay)
            if scripted.body is not None:
                return scripted.status, scripted.body
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, api_error(404, "Not Found")
        result = handler(params)
        if isinstance(result, tuple):
            return result
        return 200, {"ok": True, "result": result}

    def _api_getMe(self, params: dict[str, Any]) -> Any:
        return {**_BOT_USER, "can_join_groups": False, "supports_inline_queries": False}

    def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        if self.latency:
            self._stopping.wait(self.latency)
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id is None or not text:
            return 400, api_error(400, "Bad Request: message text is empty")
        with self._lock:
            message_id = next(self._message_ids)
            markup = params.get("reply_markup")
            self.sent.append(SentMessage(chat_id, text, markup, message_id))
        return {
            "message_id": message_id,
            "from": _BOT_USER,
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "date": int(time.time()),
            "text": text,
        }

    def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = params.get("offset")
        limit = params.get("limit") or 100
        timeout = min(float(params.get("timeout") or 0), self.max_long_poll)
        deadline = time.monotonic() + timeout
        with self._changed:
            if self.webhook is not None:
                return 409, api_error(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            while True:
                # An offset confirms every earlier update: Telegram forgets them.
                while (
                    offset is not None
                    and self._updates
                    and (self._updates[0]["update_id"] < offset)
                ):
                    self._updates.popleft()
                ready = list(itertools.islice(self._updates, limit))
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._stopping.is_set():
                    return ready
                self._changed.wait(remaining)

    def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = {
                "url": params.get("url"),
                "secret_token": params.get("secret_token"),
                "allowed_updates": params.get("allowed_updates"),
            }
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self._changed:
            self.webhook = None
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True


class _Handler(KeepAliveHandler):
    fake: FakeTelegram

    def do_POST(self) -> None:
        self._handle(self._read_params())

    def do_GET(self) -> None:
        _, _, query = self.path.partition("?")
        self._handle(_decode_form(query))

    def _handle(self, params: dict[str, Any]) -> None:
        match = _PATH.match(self.path.partition("?")[0])
        if match is None:
            status, body = 404, api_error(404, "Not Found")
        else:
            status, body = self.fake.answer(match["token"], match["method"], params)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        # The client may have given up: a cancelled long poll, or a timeout under test.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(payload)

    def _read_params(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if self.headers.get_content_type() == "application/json":
            decoded = json.loads(raw or "{}")
            return decoded if isinstance(decoded, dict) else {}
        return _decode_form(raw)


def _decode_form(raw: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, values in parse_qs(raw, keep_blank_values=True).items():
        value: Any = values[-1]
        if name in _JSON_FIELDS:
            value = json.loads(value)
        elif name == "chat_id" and value.lstrip("-").isdigit():
            value = int(value)
        params[name] = value
    return params


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "it") -> None:
    """Poll `predicate` until true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A running fake Bot API, stopped after the test."""
    fake = FakeTelegram()
    fake.start()
    yield fake
    fake.stop()


# --- update builders, as Telegram sends them (python-telegram-bot's build_messages.py) ---

_update_ids = itertools.count(500_000)
_message_ids = itertools.count(1)


def user(chat_id: int = CHAT_ID, language_code: str | None = "fr") -> dict[str, Any]:
    """The person: in a private chat, their user id is the chat id."""
    person: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Mariam"}
    if language_code is not None:
        person["language_code"] = language_code
    return person


def message(
    *,
    chat_id: int = CHAT_ID,
    language_code: str | None = "fr",
    chat_type: str = "private",
    **content: Any,
) -> dict[str, Any]:
    """A message object with `content` (text=…, sticker=…) from the person."""
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Mariam"
    else:
        chat["title"] = "Some group"
    return {
        "message_id": next(_message_ids),
        "from": user(chat_id, language_code),
        "chat": chat,
        "date": 1_795_000_000,
        **content,
    }


def update(kind: str, payload: Mapping[str, Any], update_id: int | None = None) -> dict[str, Any]:
    """An update carrying `payload` under `kind` (message, edited_message, callback_query…)."""
    return {"update_id": next(_update_ids) if update_id is None else update_id, kind: payload}


def text_update(text: str, *, update_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
    """The person sends `text`."""
    return update("message", message(text=text, **kwargs), update_id)


def start_update(payload: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """The person opens the bot, through a deep link t.me/<bot>?start=<payload> if given."""
    text = "/start" if payload is None else f"/start {payload}"
    entities = [{"type": "bot_command", "offset": 0, "length": 6}]
    return update("message", message(text=text, entities=entities, **kwargs))


def sticker_update(**kwargs: Any) -> dict[str, Any]:
    sticker = {
        "file_id": "CAACAgIAAxkBAAEB",
        "file_unique_id": "AgADsticker",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "👍",
    }
    return update("message", message(sticker=sticker, **kwargs))


def photo_update(caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
    sizes = [
        {"file_id": f"AgACphoto{n}", "file_unique_id": f"AQADp{n}", "width": w, "height": w}
        for n, w in enumerate((90, 320, 800))
    ]
    if caption is not None:
        kwargs["caption"] = caption
    return update("message", message(photo=sizes, **kwargs))


def voice_update(**kwargs: Any) -> dict[str, Any]:
    voice = {
        "file_id": "AwACvoice",
        "file_unique_id": "AgADvoice",
        "duration": 7,
        "mime_type": "audio/ogg",
    }
    return update("message", message(voice=voice, **kwargs))


def edited_update(text: str, **kwargs: Any) -> dict[str, Any]:
    """The person edited an earlier message to read `text`."""
    return update("edited_message", message(text=text, edit_date=1_795_000_060, **kwargs))


def callback_query_update(data: str = "yes", **kwargs: Any) -> dict[str, Any]:
    """A tap on an inline button (Relais never sends inline buttons)."""
    query = {
        "id": "4382bfdwdsb323b2d9",
        "from": user(),
        "chat_instance": "-1234567890",
        "data": data,
        "message": message(text="An old message with inline buttons", **kwargs),
    }
    return update("callback_query", query)


def group_text_update(text: str, **kwargs: Any) -> dict[str, Any]:
    """Someone writes in a group the bot was added to."""
    return update("message", message(text=text, chat_id=-100_200_300, chat_type="group", **kwargs))


def channel_post_update(text: str) -> dict[str, Any]:
    post = {
        "message_id": next(_message_ids),
        "chat": {"id": -100_999_888, "type": "channel", "title": "News"},
        "date": 1_795_000_000,
        "text": text,
    }
    return update("channel_post", post)


def my_chat_member_update(status: str = "kicked") -> dict[str, Any]:
    """The person blocked (kicked) or unblocked (member) the bot."""
    member = {
        "chat": {"id": CHAT_ID, "type": "private", "first_name": "Mariam"},
        "from": user(),
        "date": 1_795_000_000,
        "old_chat_member": {"status": "member", "user": _BOT_USER},
        "new_chat_member": {"status": status, "user": _BOT_USER, "until_date": 0},
    }
    return update("my_chat_member", member)
