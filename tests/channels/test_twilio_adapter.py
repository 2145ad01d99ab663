"""The Twilio adapter: sends through the real SDK to the fake server, maps every failure."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import format_datetime

import pytest

from bot.channels.base import AddressProblem, ChannelError, Outbound, RateLimit
from bot.channels.twilio import TwilioAdapter, twilio_address_problem
from bot.config import Settings
from storage.models import Channel
from tests.conftest import FrozenClock
from tests.fakes.twilio import (
    MESSAGING_SERVICE_SID,
    PUBLIC_URL,
    SENDER,
    FakeTwilio,
    Scripted,
    twilio_error,
)

PERSON = "+33639980101"


@pytest.fixture
def fake(fake_twilio: FakeTwilio) -> FakeTwilio:
    """The fake Twilio REST API this test talks to."""
    return fake_twilio


def make_adapter(fake: FakeTwilio, timeout: float = 2.0, **overrides: object) -> TwilioAdapter:
    settings = Settings().with_overrides(fake.settings_overrides(**overrides))
    return TwilioAdapter(settings, timeout=timeout)


@pytest.fixture
def adapter(fake: FakeTwilio) -> Iterator[TwilioAdapter]:
    adapter = make_adapter(fake)
    yield adapter
    adapter.close()


def sms(text: str = "Bonjour", *choices: str, channel: Channel = Channel.SMS) -> Outbound:
    return Outbound(message_id=1, channel=channel, address=PERSON, text=text, choices=choices)


def send_failure(adapter: TwilioAdapter, outbound: Outbound | None = None) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        adapter.send(outbound or sms())
    return caught.value


# --- sending ---


def test_an_sms_goes_through_the_sdk_to_the_api_url(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    sent = adapter.send(sms("Bonjour, ici Relais."))

    [received] = fake.sent
    assert sent.provider_id == received.sid
    assert (received.to, received.from_, received.body) == (PERSON, SENDER, "Bonjour, ici Relais.")
    assert received.messaging_service_sid is None
    assert received.status_callback == f"{PUBLIC_URL}/webhooks/twilio/status"


def test_whatsapp_goes_to_and_from_whatsapp_addresses(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    adapter.send(sms("Bonjour", channel=Channel.WHATSAPP))

    [received] = fake.sent
    assert (received.to, received.from_) == (f"whatsapp:{PERSON}", f"whatsapp:{SENDER}")


def test_a_whatsapp_sender_setting_still_sends_sms_from_the_plain_number(
    fake: FakeTwilio,
) -> None:
    adapter = make_adapter(fake, sender=f"whatsapp:{SENDER}")

    adapter.send(sms(channel=Channel.SMS))
    adapter.send(sms(channel=Channel.WHATSAPP))

    assert [r.from_ for r in fake.sent] == [SENDER, f"whatsapp:{SENDER}"]
    adapter.close()


def test_a_messaging_service_sends_sms_and_whatsapp_without_a_from(
    fake: FakeTwilio,
) -> None:
    adapter = make_adapter(fake, sender=None, messaging_service_sid=MESSAGING_SERVICE_SID)

    adapter.send(sms(channel=Channel.SMS))
    adapter.send(sms(channel=Channel.WHATSAPP))

    assert [(r.to, r.from_, r.messaging_service_sid) for r in fake.sent] == [
        (PERSON, None, MESSAGING_SERVICE_SID),
        (f"whatsapp:{PERSON}", None, MESSAGING_SERVICE_SID),
    ]
    adapter.close()


def test_choices_are_sent_as_numbered_lines(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    adapter.send(sms("Choisissez votre langue :", "Français", "English", "العربية"))

    assert fake.sent[0].body == "Choisissez votre langue :\n1. Français\n2. English\n3. العربية"


def test_no_status_callback_is_asked_without_a_public_url(fake: FakeTwilio) -> None:
    adapter = make_adapter(fake, public_url=None)

    adapter.send(sms())

    assert fake.sent[0].status_callback is None
    assert "StatusCallback" not in fake.sent[0].form
    adapter.close()


def test_twilio_edge_in_the_environment_does_not_move_the_api_host(
    fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    adapter = make_adapter(fake)

    adapter.send(sms())

    assert len(fake.sent) == 1
    adapter.close()


def test_it_refuses_to_start_without_credentials_and_a_sender() -> None:
    with pytest.raises(ValueError, match="TWILIO_ACCOUNT_SID"):
        TwilioAdapter(Settings())


def test_rate_limits_default_to_what_twilio_senders_accept(adapter: TwilioAdapter) -> None:
    assert adapter.rate_limit(Channel.SMS) == RateLimit(per_second=1.0)
    assert adapter.rate_limit(Channel.WHATSAPP) == RateLimit(per_second=20.0)


def test_rate_limits_can_be_configured(fake: FakeTwilio) -> None:
    settings = Settings().with_overrides(fake.settings_overrides())
    adapter = TwilioAdapter(
        settings, sms_per_second=10, whatsapp_per_second=80, per_address_per_second=1
    )

    assert adapter.rate_limit(Channel.SMS) == RateLimit(10, 1)
    assert adapter.rate_limit(Channel.WHATSAPP) == RateLimit(80, 1)
    assert adapter.channels == (Channel.SMS, Channel.WHATSAPP)
    adapter.close()


# --- failures ---


@pytest.mark.parametrize(
    ("answer", "permanent", "code", "problem"),
    [
        (Scripted.too_many_requests(), False, "20429", None),
        (Scripted.server_error(500), False, None, None),
        (Scripted.server_error(503), False, None, None),
        (Scripted(status=502, body=twilio_error(20500, 502)), False, "20500", None),
        # A handset that is off is worth trying again, whatever HTTP status came with it.
        (Scripted.error(30003), False, "30003", None),
        (Scripted(status=400, body=twilio_error(30008)), False, "30008", None),
        (Scripted.error(21610), True, "21610", AddressProblem.OPTED_OUT),
        (Scripted.error(21614), True, "21614", AddressProblem.UNREACHABLE),
        (Scripted.error(21211), True, "21211", AddressProblem.UNREACHABLE),
        (Scripted(status=400, body=twilio_error(30006)), True, "30006", AddressProblem.UNREACHABLE),
        # Too long a body: nothing to do with the number, and retrying will not help.
        (Scripted(status=400, body=twilio_error(21617)), True, "21617", None),
        (Scripted(status=404, body=twilio_error(20404)), True, "20404", None),
    ],
    ids=lambda value: getattr(value, "status", value),
)
def test_each_failure_is_classified(
    adapter: TwilioAdapter,
    fake: FakeTwilio,
    answer: Scripted,
    permanent: bool,
    code: str | None,
    problem: AddressProblem | None,
) -> None:
    fake.script(answer)

    error = send_failure(adapter)

    assert (error.permanent, error.code, error.address_problem) == (permanent, code, problem)
    assert error.retry_after is None


def test_retry_after_seconds_are_passed_on(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.script(Scripted.too_many_requests(retry_after=2))

    error = send_failure(adapter)

    assert not error.permanent
    assert error.retry_after == 2.0
    assert error.throttled  # the dispatcher pauses the whole channel, not this message


def test_retry_after_as_a_date_becomes_seconds_from_now(
    adapter: TwilioAdapter, fake: FakeTwilio, frozen_clock: FrozenClock
) -> None:
    later = format_datetime(frozen_clock.now() + timedelta(seconds=30), usegmt=True)
    fake.script(Scripted(status=503, headers={"Retry-After": later}))

    error = send_failure(adapter)

    assert error.retry_after == 30.0


def test_retry_after_is_not_carried_over_to_the_next_failure(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    fake.script(Scripted.too_many_requests(retry_after=5), Scripted.server_error())

    first, second = send_failure(adapter), send_failure(adapter)

    assert (first.retry_after, second.retry_after) == (5.0, None)
    assert (first.throttled, second.throttled) == (True, False)  # a 500 is not a 429


def test_wrong_credentials_are_permanent(fake: FakeTwilio) -> None:
    fake.auth_token = "another-token"
    adapter = make_adapter(fake)

    error = send_failure(adapter)

    assert (error.permanent, error.code, error.address_problem) == (True, "20003", None)
    adapter.close()


def test_a_slow_answer_times_out_as_transient(fake: FakeTwilio) -> None:
    adapter = make_adapter(fake, timeout=0.3)
    fake.script(Scripted.slow(5))
    started = time.monotonic()

    error = send_failure(adapter)

    assert not error.permanent
    assert "in time" in str(error)
    assert time.monotonic() - started < 2
    adapter.close()


def test_a_dropped_connection_is_transient(adapter: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.script(Scripted.dropped())

    error = send_failure(adapter)

    assert not error.permanent


def test_a_server_that_is_down_is_transient_and_sending_resumes_when_it_returns(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    fake.go_down()

    error = send_failure(adapter)
    fake.come_up()
    sent = adapter.send(sms())

    assert not error.permanent
    assert "cannot reach Twilio" in str(error)
    assert [r.sid for r in fake.sent] == [sent.provider_id]


def test_a_server_down_for_a_while_comes_back_by_itself(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    fake.go_down(seconds=0.2)
    with pytest.raises(ChannelError):
        adapter.send(sms())

    deadline = time.monotonic() + 5
    while not fake.sent and time.monotonic() < deadline:
        with contextlib.suppress(ChannelError):
            adapter.send(sms())
        time.sleep(0.05)

    assert len(fake.sent) == 1


def test_threads_sharing_one_adapter_each_get_their_own_answer(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    fake.script(*[Scripted.too_many_requests(retry_after=7)] * 4)

    def attempt(number: int) -> float | None:
        outbound = Outbound(number, Channel.SMS, f"+336399802{number:02d}", f"message {number}")
        try:
            adapter.send(outbound)
        except ChannelError as error:
            return error.retry_after
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(attempt, range(24)))

    # Four were refused with Retry-After: 7, twenty went through; none mixed up the two.
    assert sorted(results, key=lambda r: r or 0.0) == [None] * 20 + [7.0] * 4
    assert len({r.sid for r in fake.sent}) == 20


def test_every_request_is_recorded_even_refused_ones(
    adapter: TwilioAdapter, fake: FakeTwilio
) -> None:
    fake.script(Scripted.server_error())
    send_failure(adapter)
    adapter.send(sms())

    assert [r.answered for r in fake.received] == [500, 201]
    assert len({r.sid for r in fake.sent}) == 1


# --- what codes say about an address ---


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("21610", AddressProblem.OPTED_OUT),
        ("21614", AddressProblem.UNREACHABLE),
        ("21211", AddressProblem.UNREACHABLE),
        ("21217", AddressProblem.UNREACHABLE),
        ("21408", AddressProblem.UNREACHABLE),
        ("21612", AddressProblem.UNREACHABLE),
        ("30005", AddressProblem.UNREACHABLE),
        ("30006", AddressProblem.UNREACHABLE),
        ("30003", None),
        ("30008", None),
        ("20429", None),
        ("", None),
    ],
)
def test_address_problems_by_twilio_code(code: str, problem: AddressProblem | None) -> None:
    assert twilio_address_problem(code) is problem
