"""The replies sent at once when a message suggests danger, one per category of flows/safety.yaml.

Marked with N_ so `pybabel extract` collects them into the `flows` catalog and `relais
flows check` requires them in every shipped language. The numbers are placeholders
named after the helplines of flows/safety.yaml (`{suicide}` is `helplines.suicide.number`):
the association edits a number there, never here. A category's reply uses exactly the
helplines the category lists (the lexicon loader checks it).

Written short and plain: people in crisis read on small screens, and every language but
English and French goes out in UCS-2 (3 SMS are 201 characters).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.engine.defaults import N_

# Suicidal thoughts or self-harm: the suicide-prevention line first, then emergencies.
SUICIDE_SELFHARM = N_(
    "You are not alone. Call {suicide} now (suicide prevention, free, 24/7). "
    "Hurt or in danger: {samu} or {emergency}. Can't talk? Send an SMS to {sms}. "
    "Our team will read your message."
)
# Violence at home, a child in danger: police first, then the specialised lines.
VIOLENCE_ABUSE = N_(
    "In danger now? Call {police} or {emergency}. Can't talk? Send an SMS to {sms}. "
    "Women facing violence: {women} (free, anonymous). A child or young person in danger: "
    "{child}. Our team will read your message."
)
# Someone cannot breathe, is unconscious, bleeding, took too many pills…
MEDICAL_EMERGENCY = N_(
    "This is an emergency: call {samu} or {emergency} now. Can't talk? Send an SMS to {sms}. "
    "Our team will read your message."
)
# Nowhere to sleep tonight.
NO_SHELTER_TONIGHT = N_(
    "For a place to sleep tonight, call {shelter} (free, 24/7, works without phone credit). "
    "In danger? Call {emergency}, or send an SMS to {sms} if you can't talk. "
    "Our team will read your message."
)

# The reply for each category of flows/safety.yaml, by the category's name there.
REPLIES: Mapping[str, str] = {
    "suicide_selfharm": SUICIDE_SELFHARM,
    "violence_abuse": VIOLENCE_ABUSE,
    "medical_emergency": MEDICAL_EMERGENCY,
    "no_shelter_tonight": NO_SHELTER_TONIGHT,
}
