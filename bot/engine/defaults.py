"""Default texts of the engine (gettext messages in the `flows` domain, extracted via N_)."""

from __future__ import annotations


# N_ is the gettext convention for "mark, don't translate"; Babel's extractor looks for it.
def N_(message: str) -> str:
    """Mark a text for extraction without translating it now."""
    return message


INVALID_TEXT = N_("Sorry, I did not get that. Please answer with a short message.")
INVALID_CHOICE = N_("Sorry, I did not understand. Please answer with one of the numbers.")
INVALID_NUMBER = N_("Sorry, I did not understand. Please answer with a number.")
INVALID_NUMBER_BETWEEN = N_("Sorry, please answer with a number from {min} to {max}.")
INVALID_RANGE = N_("Sorry, please answer with a number or two numbers, for example 2-3.")
INVALID_SCALE = N_("Sorry, please answer with a number from {from} to {to}.")
INVALID_YES_NO = N_("Sorry, I did not understand. Please answer yes or no.")
INVALID_DATE = N_("Sorry, I did not understand the date. Please write it like 25/12.")
INVALID_DATE_PAST = N_("Please give a date that is today or earlier, written like 25/12.")
INVALID_DATE_FUTURE = N_("Please give a date that is today or later, written like 25/12.")
INVALID_PHONE = N_("Sorry, that does not look like a phone number. Please try again.")
INVALID_POSTCODE = N_("Please write the postcode with its 5 digits, for example 75011.")

ALL = (
    INVALID_TEXT,
    INVALID_CHOICE,
    INVALID_NUMBER,
    INVALID_NUMBER_BETWEEN,
    INVALID_RANGE,
    INVALID_SCALE,
    INVALID_YES_NO,
    INVALID_DATE,
    INVALID_DATE_PAST,
    INVALID_DATE_FUTURE,
    INVALID_PHONE,
    INVALID_POSTCODE,
)
