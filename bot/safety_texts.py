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

# Pills or poison taken, by the person or someone else: the ambulance first, even when
# the person also says they want to die; then the suicide line.
OVERDOSE = N_(
    "Call {samu} or {emergency} now, even if you wanted this. Can't talk? Send an SMS to "
    "{sms}. Thoughts of suicide: {suicide} (free, 24/7). Our team will read your message."
)
# Suicidal thoughts, a plan or self-harm: the suicide-prevention line first, then emergencies.
SUICIDE_SELFHARM = N_(
    "You are not alone. Call {suicide} now (suicide prevention, free, 24/7). "
    "Hurt or in danger: {samu} or {emergency}. Can't talk? Send an SMS to {sms}. "
    "Our team will read your message."
)
# Violence, threats, control or stalking by a partner, family or someone else.
VIOLENCE_ABUSE = N_(
    "In danger now? Call {police} or {emergency}. Can't talk? Send an SMS to {sms}. "
    "Women facing violence: {women} (free, anonymous). A child or young person in danger: "
    "{child}. Our team will read your message."
)
# A child or young person hurt or in danger, told by them or by an adult; a minor's
# forced marriage. Police and emergencies beside 119.
CHILD_ABUSE = N_(
    "A child in danger now? Call {police} or {emergency}. Can't talk? Send an SMS to {sms}. "
    "Children and young people in danger: {child} (free, 24/7). Our team will read your "
    "message."
)
# An older person hit, robbed, neglected or shut in by family or carers.
ELDER_ABUSE = N_(
    "In danger now? Call {police} or {emergency}. Can't talk? Send an SMS to {sms}. "
    "Abuse of an older person: {elderly} (free, daytime). Our team will read your message."
)
# A fall, a stroke, chest pain, breathing, bleeding, someone unconscious.
MEDICAL_EMERGENCY = N_(
    "This is an emergency: call {samu} or {emergency} now. Can't talk? Send an SMS to {sms}. "
    "Our team will read your message."
)
# "Help", "au secours", "imdat" with little else: every emergency number, and a person soon.
CRY_FOR_HELP = N_(
    "In danger now? Call {emergency} (police {police}, medical help {samu}). Can't talk? "
    "Send an SMS to {sms}. A person from our team will read your message very soon."
)
# Nowhere to sleep tonight.
NO_SHELTER_TONIGHT = N_(
    "For a place to sleep tonight, call {shelter} (free, 24/7, works without phone credit). "
    "In danger? Call {emergency}, or send an SMS to {sms} if you can't talk. "
    "Our team will read your message."
)
# Warning signs that are not explicit (a farewell, giving things away, "better off
# without me"): a warm word and a person soon; never the violence or shelter lines.
CONCERN = N_(
    "Thank you for writing to us. A person from our team will read your message very soon. "
    "If you think of ending your life: {suicide} (free, 24/7). In danger now: {emergency}, "
    "or an SMS to {sms}."
)
# Sent at most every 30 minutes to someone who writes again while their danger or
# concern case waits for a worker: no flow question, just that help is coming.
WAITING = N_(
    "Someone from our team is coming. In danger now: call {emergency} or send an SMS to {sms}."
)

# The reply for each category of flows/safety.yaml, by the category's name there.
REPLIES: Mapping[str, str] = {
    "overdose": OVERDOSE,
    "suicide_selfharm": SUICIDE_SELFHARM,
    "violence_abuse": VIOLENCE_ABUSE,
    "child_abuse": CHILD_ABUSE,
    "elder_abuse": ELDER_ABUSE,
    "medical_emergency": MEDICAL_EMERGENCY,
    "cry_for_help": CRY_FOR_HELP,
    "no_shelter_tonight": NO_SHELTER_TONIGHT,
    "concern": CONCERN,
}
