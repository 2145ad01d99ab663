"""Delivery outcomes: message statuses, and what a failure says about the person's address.

Both the dispatcher (a provider refused a message) and the status webhooks (a provider
reports what happened later) end here, so a failure has the same effect however it is
learnt.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.base import AddressProblem
from bot.effects import request_case
from storage.models import (
    CheckinEnrolment,
    Contact,
    ContactAddress,
    Direction,
    EnrolmentStatus,
    Message,
    MessageStatus,
    Priority,
)

log = logging.getLogger(__name__)

# Providers' callbacks can arrive out of order; a status never moves backwards.
_PROGRESS = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.READ: 5,
}

DELIVERY_FAILURE_REASON = "delivery_failure"


def record_status(
    session: Session,
    channel: str,
    provider_id: str,
    status: MessageStatus,
    now: datetime,
    *,
    error_code: str | None = None,
    error_detail: str | None = None,
) -> Message | None:
    """Apply a provider's status report to the outbound message it names, if we sent it."""
    message = session.scalar(
        select(Message).where(
            Message.channel == channel,
            Message.direction == Direction.OUT,
            Message.provider_id == provider_id,
        )
    )
    if message is None:
        log.info("status %s for unknown %s message %s", status, channel, provider_id)
        return None
    current = _PROGRESS.get(MessageStatus(message.status), 0)
    if _PROGRESS[status] < current:
        return message
    message.status = status
    if status in {MessageStatus.SENT} and message.sent_at is None:
        message.sent_at = now
    if status in {MessageStatus.DELIVERED, MessageStatus.READ} and message.delivered_at is None:
        message.delivered_at = now
    if error_code is not None:
        message.error_code = error_code[:16]
    if error_detail is not None:
        message.error_detail = error_detail[:500]
    return message


def mark_address(
    session: Session,
    address: ContactAddress,
    problem: AddressProblem,
    now: datetime,
    *,
    detail: str,
) -> None:
    """Record what a permanent failure says about an address, once.

    Opted out: nothing more is sent to the person. Unreachable or blocked: the address
    is marked, and if the person counts on weekly check-ins, a worker gets a case —
    silence that is not the person's choice must not go unnoticed.
    """
    contact = session.get(Contact, address.contact_id)
    if contact is None:
        return
    if problem is AddressProblem.OPTED_OUT:
        if contact.opted_out_at is None:
            contact.opted_out_at = now
            log.info("contact %s opted out through the provider (%s)", contact.id, detail)
        return
    if address.unreachable_at is not None:
        return
    address.unreachable_at = now
    address.unreachable_reason = f"{problem}: {detail}"[:200]
    enrolment = session.scalar(
        select(CheckinEnrolment).where(
            CheckinEnrolment.contact_id == contact.id,
            CheckinEnrolment.status == EnrolmentStatus.ACTIVE,
        )
    )
    if enrolment is not None:
        request_case(
            session,
            contact,
            now,
            queue="checkins",
            priority=Priority.HIGH,
            reason=DELIVERY_FAILURE_REASON,
            summary=f"Messages on {address.channel} no longer reach this person ({detail}).",
        )
