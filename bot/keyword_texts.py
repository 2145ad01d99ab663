"""What Relais answers to the global commands (STOP, AIDE, HUMAIN…) and to a flood.

In the `flows` catalog like the other system texts, marked N_ so `relais flows check`
requires them in every shipped language. Each fits in 2 SMS in every language, even in
UCS-2 (tests/keywords/test_keyword_texts.py checks it). The command words they mention
are words `bot.keywords` recognises in that language.
"""

from __future__ import annotations

from bot.engine.defaults import N_

# STOP: the only message an opted-out person receives (sent as kind "opt_out").
STOPPED = N_("You will receive no more messages from Relais. To receive them again, send START.")
# START from someone who had opted out, and who had no weekly check-in running before STOP.
STARTED = N_("All right: you will receive our messages again.")
# START from someone whose weekly check-in STOP had stopped: it is back, and they are told.
STARTED_WITH_CHECKINS = N_(
    "All right: you will receive our messages again, and your weekly message too. "
    "To pause it, send PAUSE."
)
# START from someone who never opted out.
ALREADY_STARTED = N_("You are already receiving our messages.")
# HELP: who we are, how to reach a person, the emergency numbers. Short on purpose.
HELP = N_(
    "Relais is an association that helps people in hard times. To talk to a person, "
    "send HUMAN. Emergency: call 112 or text 114."
)
# HUMAN: a case was opened for the team.
HUMAN_REQUESTED = N_(
    "Thank you. Someone from the team will answer you here soon. Emergency: call 112 or text 114."
)
# ERASE: asked before anything is deleted; the answer is read as yes or no. Erasure
# removes the person's address too, so nothing can be sent afterwards: this says so.
ERASE_CONFIRM = N_(
    "Shall we delete everything we keep about you? It is final, and this will be our last "
    "message. Reply YES or NO."
)
# The person answered no (or something else) to ERASE_CONFIRM.
ERASE_KEPT = N_("All right, nothing was deleted.")
# PAUSE: the weekly check-in is paused; RESUME brings it back.
PAUSED = N_(
    "Your weekly message is paused. To get it again, send RESUME. You can still write to us here."
)
RESUMED = N_("Your weekly message is back on. To pause it, send PAUSE.")
# PAUSE or RESUME from someone without a weekly check-in (or whose check-in the team stopped).
NO_CHECKINS = N_(
    "You do not receive a weekly message from us. You can still write to us here at any time."
)
# Once per flood window: the messages are kept, the person is asked to slow down.
FLOODED = N_(
    "You sent many messages very quickly. We kept them all. Please wait a minute, then write again."
)

ALL = (
    STOPPED,
    STARTED,
    STARTED_WITH_CHECKINS,
    ALREADY_STARTED,
    HELP,
    HUMAN_REQUESTED,
    ERASE_CONFIRM,
    ERASE_KEPT,
    PAUSED,
    RESUMED,
    NO_CHECKINS,
    FLOODED,
)
