"""Words for the codes stored on cases, messages and contacts, in the worker's language.

Codes stay stable in the database; what a worker reads is chosen here. An unknown code
(a reason added by a new flow) is shown as it is rather than hidden.
"""

from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError
from flask_babel import get_locale  # type: ignore[import-untyped, unused-ignore]

from bot.dashboard.i18n import _l

REASONS: dict[str, Any] = {
    "asked_for_person": _l("Asked to talk to a person"),
    "often_lonely": _l("Often feels lonely"),
    "ucla_high": _l("Loneliness score high (UCLA-3)"),
    "no_news": _l("No news: two missed check-ins"),
    "new_intake": _l("New first contact"),
    "minor": _l("Under 15: joint consent needed"),
    "no_shelter": _l("Nowhere to sleep tonight"),
    "delivery_failure": _l("Messages cannot be delivered"),
    "message_received": _l("Wrote to us"),
    "message_left": _l("Left a message in a check-in"),
    "checkins_not_set": _l("Check-ins could not be set up"),
    "unprocessed_message": _l("A message could not be processed"),
    "danger": _l("Danger"),
}

# The categories of flows/safety.yaml, by the code stored on the case.
DANGER_CATEGORIES: dict[str, Any] = {
    "overdose": _l("pills or poison taken"),
    "suicide_selfharm": _l("suicide risk"),
    "violence_abuse": _l("violence"),
    "child_abuse": _l("child in danger"),
    "elder_abuse": _l("older person mistreated"),
    "medical_emergency": _l("medical emergency"),
    "cry_for_help": _l("call for help"),
    "no_shelter_tonight": _l("no shelter tonight"),
    "concern": _l("warning signs, to assess"),
}

PRIORITIES: dict[str, Any] = {
    "urgent": _l("Urgent"),
    "high": _l("High"),
    "normal": _l("Normal"),
    "low": _l("Low"),
}

STATUSES: dict[str, Any] = {
    "open": _l("Waiting"),
    "claimed": _l("Claimed"),
    "closed": _l("Closed"),
}

CHANNELS: dict[str, Any] = {
    "sms": _l("SMS"),
    "whatsapp": _l("WhatsApp"),
    "telegram": _l("Telegram"),
    "simulator": _l("Simulator"),
}

OUTCOMES: dict[str, Any] = {
    "mission_locale": _l("Referred to the mission locale"),
    "france_travail": _l("Referred to France Travail"),
    "vae_support": _l("Referred to VAE support"),
    "shelter_115": _l("Referred to 115 (emergency shelter)"),
    "health": _l("Referred to health services"),
    "listened": _l("Listened, nothing more needed"),
    "other": _l("Other"),
}

DELIVERY: dict[str, Any] = {
    "received": _l("received"),
    "handled": _l("received"),
    "queued": _l("waiting to be sent"),
    "sending": _l("being sent"),
    "sent": _l("sent"),
    "delivered": _l("delivered"),
    "read": _l("read"),
    "undelivered": _l("not delivered"),
    "failed": _l("failed"),
}

MESSAGE_KINDS: dict[str, Any] = {
    "flow": _l("Assistant"),
    "system": _l("Assistant"),
    "keyword": _l("Assistant"),
    "safety": _l("Assistant (safety)"),
    "checkin": _l("Assistant (check-in)"),
    "reply": _l("Worker"),
}

CASE_EVENTS: dict[str, Any] = {
    "opened": _l("Case opened"),
    "requested": _l("Asked again"),
    "claimed": _l("Claimed"),
    "released": _l("Released"),
    "reassigned": _l("Reassigned"),
    "reply": _l("Reply sent"),
    "note": _l("Private note"),
    "closed": _l("Closed"),
    "inbound": _l("Message received while held"),
    "alerted": _l("On-call alert sent"),
}

# What the first contact and the other flows save, as a worker would name it.
FIELDS: dict[str, Any] = {
    "consent": _l("Consent"),
    "first_name": _l("First name or nickname"),
    "age_bracket": _l("Age group"),
    "situation": _l("Situation"),
    "situation_words": _l("In their words"),
    "need": _l("What they need"),
    "youth_followed": _l("In touch with mission locale or France Travail"),
    "left_from": _l("Just left"),
    "tonight": _l("Tonight they sleep"),
    "wants_checkins": _l("Wants weekly check-ins"),
    "wants_person": _l("Wants to talk to a person"),
    "postcode": _l("Postcode"),
    "commune": _l("Town"),
    "place": _l("Area"),
    "contact_how": _l("How to contact them"),
    "callback_phone": _l("Number to call"),
    "contact_when": _l("Best time"),
    "ucla_agreed": _l("Agreed to the monthly loneliness questions"),
    "checkin_day": _l("Check-in day"),
    "checkin_time": _l("Check-in time"),
    "vae_target": _l("VAE: target job or diploma"),
    "vae_experience": _l("VAE: kinds of experience"),
    "vae_years": _l("VAE: how long"),
    "vae_diploma": _l("VAE: highest diploma"),
    "vae_status": _l("VAE: employment status"),
    "vae_help": _l("VAE: help needed"),
    "details": _l("Details"),
}

# Choice codes saved by the flows; free text and numbers are shown as they are.
VALUES: dict[str, Any] = {
    "under_15": _l("under 15"),
    "age_15_17": _l("15 to 17"),
    "age_18_25": _l("18 to 25"),
    "age_26_59": _l("26 to 59"),
    "age_60_plus": _l("60 or over"),
    "youth": _l("young, no school or job"),
    "family": _l("family, parenting"),
    "left_institution": _l("left prison, hospital or a shelter"),
    "isolated": _l("alone, isolated"),
    "vae": _l("VAE"),
    "other": _l("something else"),
    "prison": _l("prison"),
    "hospital": _l("hospital"),
    "shelter": _l("a shelter"),
    "rather_not_say": _l("rather not say"),
    "home": _l("at home"),
    "family_friends": _l("with family or friends"),
    "unsure": _l("does not know yet"),
    "nowhere": _l("nowhere"),
    "here": _l("a message here"),
    "call": _l("a call on this number"),
    "other_phone": _l("a call on another number"),
    "morning": _l("morning"),
    "afternoon": _l("afternoon"),
    "evening": _l("evening"),
    "any": _l("any time"),
}

# Hidden from the intake summary: internal bookkeeping, not something a person said.
HIDDEN_FIELDS = frozenset({"details"})


def label(table: dict[str, Any], code: str | None) -> str:
    """The label of `code` in `table`, or the code itself when unknown."""
    if code is None:
        return ""
    return str(table.get(code, code))


def reason_label(reason: str, category: str | None = None) -> str:
    """The reason of a case, with the danger category when there is one."""
    text = label(REASONS, reason)
    if category:
        return f"{text} ({label(DANGER_CATEGORIES, category)})"
    return text


def value_label(value: Any) -> str:
    """A saved answer as a worker reads it: yes/no, a choice's label, or the text."""
    if value is True:
        return str(_l("yes"))
    if value is False:
        return str(_l("no"))
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(value_label(item) for item in value)
    if isinstance(value, str) and value in VALUES:
        return str(VALUES[value])
    return str(value)


def language_label(code: str) -> str:
    """A person's language, named in the worker's language ("arabe", "Arabic")."""
    if code == "fa_AF":
        return str(_l("Dari"))
    try:
        name = Locale.parse(code).get_language_name(str(get_locale() or "fr"))
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if name else code


def template_helpers() -> dict[str, Any]:
    """The labelling functions the queue's templates call."""
    return {
        "reason_label": reason_label,
        "value_label": value_label,
        "language_label": language_label,
        "priority_label": lambda code: label(PRIORITIES, code),
        "status_label": lambda code: label(STATUSES, code),
        "channel_label": lambda code: label(CHANNELS, code),
        "outcome_label": lambda code: label(OUTCOMES, code),
        "delivery_label": lambda code: label(DELIVERY, code),
        "sender_label": lambda code: label(MESSAGE_KINDS, code),
        "event_label": lambda code: label(CASE_EVENTS, code),
        "danger_label": lambda code: label(DANGER_CATEGORIES, code),
    }
