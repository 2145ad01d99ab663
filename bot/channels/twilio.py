"""Twilio SMS and WhatsApp: sending through the official SDK, and what its errors mean.

The real `twilio.rest.Client` is used end to end; only its API base URL changes
(`TWILIO_API_URL`), so tests reach a local fake through the SDK's own HTTP path. Errors
become `ChannelError`s that tell the dispatcher whether to retry and what a refusal says
about the person's number.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot import clock
from bot.channels.base import AddressProblem, ChannelError, Outbound, RateLimit, Sent
from bot.config import Settings
from bot.sms import render_sms
from storage.models import Channel

log = logging.getLogger(__name__)

WHATSAPP_PREFIX = "whatsapp:"
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
# Twilio answers in well under a second; ten seconds means it is not going to answer.
HTTP_TIMEOUT_SECONDS = 10.0
# A long code sends one SMS a second; a WhatsApp sender starts at 20 messages a second.
SMS_PER_SECOND = 1.0
WHATSAPP_PER_SECOND = 20.0

# Worth another try later: Twilio's own rate limit (20429), a handset that is off or out
# of coverage (30003), and the carrier's "unknown error" (30008).
TRANSIENT_CODES = frozenset({"20429", "30003", "30008"})

_ADDRESS_PROBLEMS: Mapping[str, AddressProblem] = {
    # The person replied STOP to the sender: Twilio refuses until they send START.
    "21610": AddressProblem.OPTED_OUT,
    "21211": AddressProblem.UNREACHABLE,  # invalid 'To' number
    "21217": AddressProblem.UNREACHABLE,  # the number does not look valid
    "21408": AddressProblem.UNREACHABLE,  # the number's country is not enabled
    "21612": AddressProblem.UNREACHABLE,  # the number cannot be reached from this sender
    "21614": AddressProblem.UNREACHABLE,  # not a mobile number (a landline)
    "30005": AddressProblem.UNREACHABLE,  # unknown or deactivated number
    "30006": AddressProblem.UNREACHABLE,  # landline, or a carrier that cannot deliver
}


def twilio_address_problem(code: str) -> AddressProblem | None:
    """What a Twilio error code says about the recipient's address, if anything."""
    return _ADDRESS_PROBLEMS.get(code.strip())


class TwilioAdapter:
    """Sends SMS and WhatsApp messages through Twilio's REST API; safe to share across threads."""

    channels: tuple[Channel, ...] = (Channel.SMS, Channel.WHATSAPP)

    def __init__(
        self,
        settings: Settings,
        *,
        sms_per_second: float = SMS_PER_SECOND,
        whatsapp_per_second: float = WHATSAPP_PER_SECOND,
        per_address_per_second: float | None = None,
        timeout: float = HTTP_TIMEOUT_SECONDS,
    ) -> None:
        if not settings.twilio_enabled:
            raise ValueError(
                "Twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"
            )
        self._limits = {
            Channel.SMS: RateLimit(sms_per_second, per_address_per_second),
            Channel.WHATSAPP: RateLimit(whatsapp_per_second, per_address_per_second),
        }
        self._senders = _senders(settings.twilio_from, settings.twilio_messaging_service_sid)
        self._status_callback = (
            settings.public_url + STATUS_CALLBACK_PATH if settings.public_url else None
        )
        # Twilio's exceptions drop the response headers, and with them Retry-After; a
        # response hook keeps the last ones per thread (the dispatcher sends from several).
        self._last_response = threading.local()
        # requests applies the timeout to connecting, then again to reading the answer.
        self.longest_send = 2 * timeout
        self._http = TwilioHttpClient(
            timeout=timeout,
            request_hooks={"response": [self._remember_response]},
            logger=_QuietLogger(log.getChild("http"), {}),
        )
        self._client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http
        )
        # The SDK reads TWILIO_EDGE and TWILIO_REGION from the environment and rewrites the
        # host with them; Relais is configured through Settings only.
        self._client.edge = None
        self._client.region = None
        self._client.api.base_url = settings.twilio_api_url

    def rate_limit(self, channel: Channel) -> RateLimit:
        """Per-sender throughput: one SMS a second on a long code, 20/s on WhatsApp."""
        return self._limits[channel]

    def send(self, outbound: Outbound) -> Sent:
        """Send one message; raise ChannelError saying whether a retry could help."""
        params = self._message_params(outbound)
        self._last_response.headers = None
        try:
            message = self._client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            error = self._rest_error(exc)
            log.warning(
                "twilio refused message %s: HTTP %s, code %s",
                outbound.message_id,
                exc.status,
                error.code,
            )
            raise error from exc
        except requests.Timeout as exc:
            # Twilio may have accepted it; retrying risks a duplicate, dropping risks a loss.
            raise ChannelError(f"Twilio did not answer in time: {exc}", permanent=False) from exc
        except requests.RequestException as exc:
            raise ChannelError(f"cannot reach Twilio: {exc}", permanent=False) from exc
        except json.JSONDecodeError as exc:
            raise ChannelError("Twilio answered something unreadable", permanent=False) from exc
        return Sent(provider_id=message.sid)

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        if self._http.session is not None:
            self._http.session.close()

    def _message_params(self, outbound: Outbound) -> dict[str, Any]:
        if outbound.channel not in self._limits:
            raise ValueError(f"TwilioAdapter does not send on {outbound.channel}")
        to = outbound.address
        if outbound.channel == Channel.WHATSAPP:
            to = WHATSAPP_PREFIX + to.removeprefix(WHATSAPP_PREFIX)
        params: dict[str, Any] = {
            "to": to,
            "body": render_sms(outbound.text, outbound.choices),
            **self._senders[Channel(outbound.channel)],
        }
        if self._status_callback is not None:
            params["status_callback"] = self._status_callback
        return params

    def _remember_response(self, response: requests.Response, *_: Any, **__: Any) -> None:
        self._last_response.headers = response.headers

    def _rest_error(self, exc: TwilioRestException | TwilioServiceException) -> ChannelError:
        status = int(exc.status)
        # Without a Twilio code in the body the SDK fills in the HTTP status instead.
        code = str(exc.code) if exc.code is not None and exc.code != status else None
        # Twilio's own words ("Attempt to send to unsubscribed recipient") for the operator.
        said = getattr(exc, "msg", None) or getattr(exc, "title", None) or ""
        message = f"Twilio HTTP {status}" + (f" error {code}" if code else "")
        message += f": {said}"[:300] if said else ""
        problem = twilio_address_problem(code) if code else None
        if problem is not None:
            return ChannelError(message, permanent=True, code=code, address_problem=problem)
        if status == 429 or status >= 500 or code in TRANSIENT_CODES:
            headers = getattr(self._last_response, "headers", None)
            retry_after = _retry_after(headers.get("Retry-After") if headers else None)
            return ChannelError(
                message,
                permanent=False,
                code=code,
                retry_after=retry_after,
                throttled=status == 429,
            )
        return ChannelError(message, permanent=True, code=code)


def _senders(
    sender: str | None, messaging_service_sid: str | None
) -> dict[Channel, dict[str, str]]:
    """The sender parameters per channel.

    SMS goes through the messaging service when there is one, else from the plain number.
    WhatsApp goes from `whatsapp:<TWILIO_FROM>` when a number is given (it may be a
    different sender from the SMS pool), else through the service, which picks its
    WhatsApp sender for a `whatsapp:` recipient.
    """
    number = sender.removeprefix(WHATSAPP_PREFIX) if sender else None
    senders: dict[Channel, dict[str, str]] = {}
    if messaging_service_sid:
        senders[Channel.SMS] = {"messaging_service_sid": messaging_service_sid}
        senders[Channel.WHATSAPP] = {"messaging_service_sid": messaging_service_sid}
    if number:
        senders.setdefault(Channel.SMS, {"from_": number})
        senders[Channel.WHATSAPP] = {"from_": WHATSAPP_PREFIX + number}
    return senders


class _QuietLogger(logging.LoggerAdapter[logging.Logger]):
    """The SDK logs every request and its headers at INFO; that is DEBUG detail here."""

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - clock.now()).total_seconds())
