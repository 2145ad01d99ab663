"""Texts Relais sends outside any flow, in the `flows` catalog like the flows' own texts.

Marked with N_ so `pybabel extract` collects them and `relais flows check` requires them
in every shipped language.
"""

from __future__ import annotations

from bot.engine.defaults import N_

# Someone sent a sticker, a photo, a voice note or an edit: the flows only read text.
ONLY_TEXT = N_("Sorry, I can only read written messages. Please answer in words.")
# Someone edited a message they had sent (Telegram): the flows read new messages only.
EDIT_NOT_READ = N_("I cannot read edited messages. Please send your answer again as a new message.")
# Someone who already did their first contact pressed Start again (Telegram /start).
WELCOME_BACK = N_(
    "Hello again! Write to us here whenever you like: someone from the team will read you."
)
# A worker closed the person's case: the assistant takes over again.
CASE_CLOSED = N_("Thank you for talking with us. You can write here again at any time.")
