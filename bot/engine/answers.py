"""Answer parsing: turn what a person typed into a value, in any shipped language.

Everything here is pure and total: a parser returns ``None`` for an answer it cannot read
(the engine then re-prompts) and never raises on text, whatever the person sends.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.engine.normalise import fold, normalise_digits

__all__ = [
    "FALLBACK_LANGUAGES",
    "ChoiceOption",
    "fold",
    "made_of_phrases",
    "match_choice",
    "normalise_digits",
    "parse_date",
    "parse_int",
    "parse_phone",
    "parse_postcode",
    "parse_range",
    "parse_yes_no",
]

# Words are looked up in the person's language first, then in these: French is the
# association's language and English the one most people fall back on.
FALLBACK_LANGUAGES = ("fr", "en")

# Longer numbers are not answers to anything we ask, and int() refuses over 4300 digits.
_MAX_NUMBER_DIGITS = 18

# Folding and digits live in bot/engine/normalise.py, shared with every other matcher.

_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def _tokens(text: str) -> list[str]:
    """Split folded text into words (apostrophes kept inside: "n'ai") and single symbols."""
    return _TOKEN.findall(fold(normalise_digits(text)))


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(_tokens(text))


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    size = len(needle)
    return size > 0 and any(
        tuple(haystack[i : i + size]) == tuple(needle) for i in range(len(haystack) - size + 1)
    )


# ------------------------------------------------------------------------- lexicons


class _Lexicon:
    """Phrases (one or more words) mapped to a meaning, matched longest first."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        self._meanings: dict[tuple[str, ...], str] = {}
        for meaning, phrases in entries.items():
            for phrase in phrases.split(","):
                if words := _phrase(phrase):
                    self._meanings[words] = meaning
        self._longest = max((len(p) for p in self._meanings), default=0)

    def merged(self, other: _Lexicon) -> _Lexicon:
        """A lexicon with ``other``'s phrases, where this one's take precedence."""
        merged = _Lexicon({})
        merged._meanings = {**other._meanings, **self._meanings}
        merged._longest = max(self._longest, other._longest)
        return merged

    def meanings(self, tokens: Sequence[str]) -> list[str | None]:
        """One entry per phrase found or word skipped, in order."""
        found: list[str | None] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                meaning = self._meanings.get(tuple(tokens[i : i + size]))
                if meaning is not None:
                    found.append(meaning)
                    i += size
                    break
            else:
                found.append(None)
                i += 1
        return found


def _with_fallbacks(tables: Mapping[str, _Lexicon]) -> dict[str, _Lexicon]:
    """Each language's lexicon merged over the fallbacks, so the person's own words win."""
    fallbacks = _Lexicon({})
    for language in reversed(FALLBACK_LANGUAGES):
        fallbacks = tables[language].merged(fallbacks)
    merged = {language: lexicon.merged(fallbacks) for language, lexicon in tables.items()}
    merged[""] = fallbacks  # a language without words of its own
    return merged


def _lexicon(tables: Mapping[str, _Lexicon], language: str) -> _Lexicon:
    base = language.replace("-", "_").split("_")[0].lower()
    return tables.get(language) or tables.get(base) or tables[""]


_YES, _NO, _UNSURE, _NEGATION = "yes", "no", "unsure", "negation"

# Single letters ("o", "n", "y", "s") are answers only on their own: inside a sentence they
# are French elisions ("n'y", "j'y") and would flip the meaning.
_SHORT_FORMS: dict[str, bool] = {"y": True, "o": True, "s": True, "n": False}

# Comma-separated phrases, spelt naturally: they are folded like the answers.
# Negations only matter when the answer does not start with yes or no ("pas d'accord").
_YES_NO_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        _YES: "oui, ouais, ouai, ouii, wi, ui, ok, okay, d'accord, daccord, dac, bien sûr, "
        "volontiers, avec plaisir, je veux bien, si, pas de souci, pas de soucis, "
        "pas de problème, carrément, exact, 👍, ✅, ✔, 👌",
        _NO: "non, nan, nn, nope, non merci, pas du tout, jamais, 👎, ❌",
        _UNSURE: "je sais pas, je ne sais pas, sais pas, jsp, chais pas, peut-être, peut etre, "
        "bof, pas sûr, pas sûre, ça dépend",
        _NEGATION: "pas, ne",
    },
    "en": {
        _YES: "yes, yeah, yea, yep, yup, ya, sure, ok, okay, of course, please, yes please, "
        "definitely, no problem, 👍",
        _NO: "no, nope, nah, no thanks, never, 👎",
        _UNSURE: "i don't know, i dont know, idk, dunno, not sure, maybe, perhaps, depends",
        _NEGATION: "not, don't, dont, doesn't, isn't",
    },
    "ar": {
        _YES: "نعم, ايوه, ايوة, ايوا, أيوه, اه, آه, أكيد, طبعا, موافق, اي, إي, تمام",
        _NO: "لا, كلا, لأ, لاء, مش عايز, ما بدي",
        _UNSURE: "لا أعرف, لا اعرف, ما بعرف, مش عارف, ربما, يمكن, مش متأكد",
        _NEGATION: "مش, ما, ليس",
    },
    "fa_AF": {
        _YES: "بله, بلی, آره, اره, ها, هو, البته, حتما, باشه",
        _NO: "نه, خیر, نخیر, نی",
        _UNSURE: "نمی‌دانم, نمیدانم, نمی دانم, نمیدونم, شاید, مطمئن نیستم",
        _NEGATION: "نمی, نیست",
    },
    "uk": {
        # Many Ukrainians also answer in Russian, or with a Latin "i" in "ні".
        _YES: "так, ага, угу, да, авжеж, звісно, звичайно, tak, ок",
        _NO: "ні, нi, нет, ні дякую, ni",
        _UNSURE: "не знаю, можливо, мабуть, не впевнений, не впевнена",
        _NEGATION: "не",
    },
    "pt": {
        _YES: "sim, claro, com certeza, pode ser, certo, está bem, ta bom, tá",
        _NO: "não, nao, nunca, de jeito nenhum",
        _UNSURE: "não sei, nao sei, talvez, depende",
        _NEGATION: "",
    },
    "tr": {
        _YES: "evet, tamam, olur, tabii, tabi, elbette, he",
        _NO: "hayır, hayir, yok, istemiyorum",
        _UNSURE: "bilmiyorum, belki, emin değilim, emin degilim",
        _NEGATION: "değil, degil",
    },
}
_YES_NO = _with_fallbacks({lang: _Lexicon(words) for lang, words in _YES_NO_WORDS.items()})


def parse_yes_no(text: str, language: str) -> bool | None:
    """Read yes (True) or no (False) in the person's language, French or English; else None."""
    tokens = _tokens(text)
    if len(tokens) == 1 and tokens[0] in _SHORT_FORMS:
        return _SHORT_FORMS[tokens[0]]
    meanings = _lexicon(_YES_NO, language).meanings(tokens)
    if _UNSURE in meanings:
        return None
    answers = {m for m in meanings if m in (_YES, _NO)}
    if not answers:
        return None
    first = meanings[0]
    if first in (_YES, _NO):
        # "non merci", "oui mais…": the first word is the answer, unless it is contradicted.
        return first == _YES if answers == {first} else None
    # "euh oui", "je crois que non" — but "not sure"/"pas d'accord" are not answers.
    if len(answers) > 1 or _NEGATION in meanings:
        return None
    return answers == {_YES}


# -------------------------------------------------------------------------- numbers

# A French thousands group ("1 000") is one number; any other space separates numbers.
_NUMBER = re.compile(r"(?<![0-9])(?:[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+|[0-9]+)(?![0-9])")


def _numbers(text: str) -> list[re.Match[str]]:
    return list(_NUMBER.finditer(normalise_digits(text)))


def _to_int(digits: str) -> int | None:
    digits = re.sub(r"[^0-9]", "", digits)
    if not digits or len(digits) > _MAX_NUMBER_DIGITS:
        return None
    return int(digits)


def parse_int(text: str) -> int | None:
    """Read one whole number, in any script, among other words ("j'ai 45 ans"); else None."""
    text = normalise_digits(text)
    found = _numbers(text)
    if len(found) != 1:
        return None
    match = found[0]
    value = _to_int(match.group())
    if value is None:
        return None
    # "4,5" holds two numbers and is refused above; a minus sign must stand before the digits.
    if re.search(r"(?:^|\s)[-\u2212]\s*$", text[: match.start()]):
        return -value
    return value


# What may stand between the two numbers of a range: "2-3", "2 à 3", "entre 2 et 3",
# "۲ تا ۳", "від 2 до 3", "2 ile 3 arası". A slash is left out: "2/3" reads as a date.
_RANGE_DASHES = frozenset({"-", "–", "—", "−", "~", "..", "..."})
_RANGE_WORD_LIST = (
    "à, a, au, to, till, until, et, and, ou, or, e, até, ile, veya, تا, الى, إلى, و, او, أو, یا, "
    "до, і, й, або, чи"
)
_RANGE_WORDS = frozenset(_phrase(word) for word in _RANGE_WORD_LIST.split(","))


def _is_range_joiner(between: str) -> bool:
    between = between.strip()
    return between in _RANGE_DASHES or _phrase(between) in _RANGE_WORDS


def parse_range(text: str) -> tuple[int, int] | None:
    """Read a number or a range of two ("2-3", "2 à 3", "entre 2 et 3") as (min, max); else None."""
    text = normalise_digits(text)
    found = _numbers(text)
    if len(found) == 1:
        value = _to_int(found[0].group())
        return None if value is None else (value, value)
    if len(found) != 2:
        return None
    low, high = (_to_int(m.group()) for m in found)
    if low is None or high is None:
        return None
    if not _is_range_joiner(text[found[0].end() : found[1].start()]):
        return None
    return (min(low, high), max(low, high))


# ---------------------------------------------------------------------------- dates

# Days from today, as comma-separated phrases.
_RELATIVE_DAYS_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "0": "aujourd'hui, aujourdhui, auj, ajd, ce soir, ce matin",
        "1": "demain",
        "-1": "hier",
        "2": "après-demain, apres demain",
        "-2": "avant-hier",
    },
    "en": {
        "0": "today, tonight, this morning",
        "1": "tomorrow, tmrw, tmr",
        "-1": "yesterday",
        "2": "the day after tomorrow, day after tomorrow",
        "-2": "the day before yesterday, day before yesterday",
    },
    "ar": {
        "0": "اليوم, الليلة",
        "1": "غدا, غداً, بكرة, بكره, بكرا",
        "-1": "أمس, امس, امبارح, البارحة",
        "2": "بعد غد, بعد بكرة, بعد بكره",
        "-2": "أول أمس, اول امس, أول امبارح",
    },
    "fa_AF": {
        "0": "امروز, امشب",
        "1": "فردا, صبا",  # "صبا" is tomorrow in spoken Dari
        "-1": "دیروز",
        "2": "پس فردا, پسفردا, بعد از فردا",
        "-2": "پریروز",
    },
    "uk": {
        "0": "сьогодні, сегодня",
        "1": "завтра",
        "-1": "вчора, учора, вчера",
        "2": "післязавтра, послезавтра",
        "-2": "позавчора, позавчера",
    },
    "pt": {
        "0": "hoje, esta noite",
        "1": "amanhã, amanha",
        "-1": "ontem",
        "2": "depois de amanhã",
        "-2": "anteontem",
    },
    "tr": {
        "0": "bugün, bu akşam",
        "1": "yarın, yarin",
        "-1": "dün",
        "2": "öbür gün, yarından sonra",
        "-2": "evvelsi gün, önceki gün",
    },
}
_RELATIVE_DAYS = _with_fallbacks(
    {lang: _Lexicon(words) for lang, words in _RELATIVE_DAYS_WORDS.items()}
)

# Month names in French and English: "25 décembre", "3 jan 2027".
# Month names in French and English, as fallbacks for everyone: "25 décembre", "3 jan 2027".
_MONTH_NAMES = (
    "janvier, janv, january, jan",
    "février, fevrier, févr, fevr, fév, fev, february, feb",
    "mars, march, mar",
    "avril, avr, april, apr",
    "mai, may",
    "juin, june, jun",
    "juillet, juil, july, jul",
    "août, aout, august, aug",
    "septembre, sept, september, sep",
    "octobre, october, oct",
    "novembre, november, nov",
    "décembre, décembre, déc, december, dec",
)
_MONTHS: dict[str, int] = {
    fold(name): number
    for number, names in enumerate(_MONTH_NAMES, start=1)
    for name in names.split(",")
}

_SEP = r"\s*[/.\-]\s*"
_ISO_DATE = re.compile(r"(?<![0-9])([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?![0-9])")
_NUMERIC_DATE = re.compile(
    rf"(?<![0-9])([0-9]{{1,2}}){_SEP}([0-9]{{1,2}})(?:{_SEP}([0-9]{{4}}|[0-9]{{2}}))?(?![0-9])"
)
_NAMED_DATE = re.compile(
    r"(?<![0-9])([0-9]{1,2})(?:er)?\s+([^\W\d_]+)\.?(?:\s+([0-9]{4}))?(?![0-9])"
)


def _full_year(year: int, digits: int, today: datetime.date) -> int:
    """Two-digit years fall in the century window from 80 years ago to 20 years ahead."""
    if digits == 4:
        return year
    candidate = today.year // 100 * 100 + year
    if candidate > today.year + 20:
        candidate -= 100
    elif candidate <= today.year - 80:
        candidate += 100
    return candidate


def _make_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _nearest_date(month: int, day: int, today: datetime.date) -> datetime.date | None:
    """Without a year, the date closest to today: "02/01" said on 30 December is in January."""
    candidates = [
        d
        for year in (today.year - 1, today.year, today.year + 1)
        if datetime.MINYEAR <= year <= datetime.MAXYEAR
        and (d := _make_date(year, month, day)) is not None
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda d: (abs((d - today).days), d))


def _numeric_dates(text: str, today: datetime.date) -> list[datetime.date | None]:
    """Every date written with digits, ISO first; None for one that does not exist (31/02)."""
    dates = [_make_date(*(int(g) for g in m.groups())) for m in _ISO_DATE.finditer(text)]
    rest = _ISO_DATE.sub(" ", text)
    for match in _NUMERIC_DATE.finditer(rest):
        day, month, year = match.group(1), match.group(2), match.group(3)
        if year is None:
            dates.append(_nearest_date(int(month), int(day), today))
        else:
            full = _full_year(int(year), len(year), today)
            dates.append(_make_date(full, int(month), int(day)))
    rest = _NUMERIC_DATE.sub(" ", rest)
    for match in _NAMED_DATE.finditer(fold(rest)):
        month_number = _MONTHS.get(match.group(2))
        if month_number is None:
            continue
        day, year = int(match.group(1)), match.group(3)
        if year is None:
            dates.append(_nearest_date(month_number, day, today))
        else:
            dates.append(_make_date(int(year), month_number, day))
    return dates


def parse_date(text: str, language: str, today: datetime.date) -> datetime.date | None:
    """Read one date, day first as in France ("25/12", "2026-12-25", "demain"); else None."""
    text = normalise_digits(text)
    dates = _numeric_dates(text, today)
    offsets = {int(m) for m in _lexicon(_RELATIVE_DAYS, language).meanings(_tokens(text)) if m}
    if len(dates) + len(offsets) != 1:
        return None
    if dates:
        return dates[0]
    try:
        return today + datetime.timedelta(days=offsets.pop())
    except OverflowError:
        return None


# --------------------------------------------------------------------------- phones

# Calling code and whether national numbers start with a trunk "0" that E.164 drops.
_REGIONS: dict[str, tuple[str, bool]] = {
    "FR": ("33", True),
    "BE": ("32", True),
    "CH": ("41", True),
    "LU": ("352", False),
    "MC": ("377", False),
    "DE": ("49", True),
    "ES": ("34", False),
    "IT": ("39", False),
    "PT": ("351", False),
    "GB": ("44", True),
    "MA": ("212", True),
    "DZ": ("213", True),
    "TN": ("216", False),
    "TR": ("90", True),
    "UA": ("380", True),
    "AF": ("93", True),
    "BR": ("55", True),
}
_PHONE_CANDIDATE = re.compile(r"(?:\+|\b00)?[0-9](?:[\s.\-/()]{0,3}[0-9])*")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# French numbers people can text or be called on: 01-05 geographic, 06/07 mobile, 09 VoIP.
# 08 numbers are special-rate services and cannot receive SMS.
_FRENCH_NATIONAL = re.compile(r"[1-79][0-9]{8}")


def _french(national: str) -> str | None:
    return f"+33{national}" if _FRENCH_NATIONAL.fullmatch(national) else None


def parse_phone(text: str, default_region: str = "FR") -> str | None:
    """Read one phone number ("06 39 98 12 34", "+33 6…", "0033 6…") as E.164; else None."""
    try:
        calling_code, trunk_zero = _REGIONS[default_region.upper()]
    except KeyError:
        raise ValueError(f"unknown phone region {default_region!r}") from None
    text = normalise_digits(text)
    candidates = [
        m.group() for m in _PHONE_CANDIDATE.finditer(text) if len(re.sub(r"\D", "", m.group())) >= 6
    ]
    if len(candidates) != 1:
        return None
    candidate = candidates[0]
    international = candidate.startswith(("+", "00"))
    if international:
        # "+33 (0)6 …": the bracketed trunk zero is a habit from business cards.
        candidate = candidate.replace("(0)", "")
    digits = re.sub(r"\D", "", candidate)
    if international:
        digits = digits.removeprefix("00") if not candidate.startswith("+") else digits
        if digits.startswith("33"):
            # "+33 06 …" is a common slip: the national zero kept after the country code.
            national = digits[2:]
            return _french(national[1:] if len(national) == 10 else national)
        e164 = f"+{digits}"
        return e164 if _E164.fullmatch(e164) else None
    if calling_code == "33":
        if len(digits) == 10 and digits.startswith("0"):
            return _french(digits[1:])
        # "6 39 98 12 34": a mobile number with its leading zero forgotten.
        if len(digits) == 9 and digits[0] in "67":
            return _french(digits)
        return None
    national = digits[1:] if trunk_zero and digits.startswith("0") else digits
    e164 = f"+{calling_code}{national}"
    return e164 if _E164.fullmatch(e164) and len(national) >= 6 else None


# ------------------------------------------------------------------------ postcodes

# Départements 01-95 (20 is Corsica's postcodes), overseas 97x and 98x (Monaco, Pacific).
_POSTCODE = re.compile(
    r"(?<![0-9A-Z])((?:0[1-9]|[1-8][0-9]|9[0-5]|9[78])|2[AB])\s?([0-9]{3})(?![0-9])"
)


def parse_postcode(text: str) -> str | None:
    """Read one French postcode ("75011", "75 011", "2A004", in any digits); else None."""
    found = _POSTCODE.findall(normalise_digits(text).upper())
    if len(found) != 1:
        return None
    department, rest = found[0]
    return f"{department}{rest}"


# -------------------------------------------------------------------------- choices


@dataclass(frozen=True)
class ChoiceOption:
    """One option as the person sees it: its number, its label and extra answer words."""

    number: int
    label: str
    keywords: tuple[str, ...] = ()


# "1", "1.", "n°1", "no 1", "option 1", "#1", "رقم 1", "شماره ۱", "номер 1", "seçenek 1".
_NUMBER_ANSWER = re.compile(
    r"(?:(?:n°|n|no|num|numero|nr|number|option|opcao|choix|choice|reponse|رقم|شماره|номер|"
    r"варiант|варіант|secenek|#)\s*\.?\s*)?([0-9]{1,3})"
)


def _keyword_phrases(option: ChoiceOption) -> list[tuple[str, ...]]:
    # A translated keywords entry may still be the whole comma-separated list.
    words = (part for keyword in option.keywords for part in re.split(r"[,،;]", keyword))
    return [p for p in (_phrase(w) for w in words) if p]


def match_choice(text: str, options: Sequence[ChoiceOption]) -> int | None:
    """Index of the one option the answer names by number, whole label or keyword; else None."""
    folded = fold(normalise_digits(text))
    answer = tuple(_TOKEN.findall(folded))
    if not answer:
        return None

    # A whole label or keyword first: a label may itself be a number ("2", "3 or more").
    exact = {
        i
        for i, option in enumerate(options)
        if answer == _phrase(option.label) or answer in _keyword_phrases(option)
    }
    if exact:
        return exact.pop() if len(exact) == 1 else None

    number = _NUMBER_ANSWER.fullmatch(folded)
    if number:
        chosen = [i for i, option in enumerate(options) if option.number == int(number.group(1))]
        return chosen[0] if len(chosen) == 1 else None

    contained = {
        i
        for i, option in enumerate(options)
        if _contains(answer, _phrase(option.label))
        or any(_contains(answer, keyword) for keyword in _keyword_phrases(option))
    }
    return contained.pop() if len(contained) == 1 else None


# ---------------------------------------------------------------------------- skipping


def _words(text: str) -> tuple[str, ...]:
    # Punctuation and symbols ("," "!" "-" "🙂") are not words: "Non, merci !" is two words.
    return tuple(token for token in _tokens(text) if token[0].isalnum() or token[0] == "_")


def made_of_phrases(text: str, phrases: Sequence[str]) -> bool:
    """True when the answer is nothing but one or more of `phrases`, one after another.

    Words are compared folded (case, accents, curly apostrophes) and punctuation between
    them is ignored: with "non, merci, rien", "Non." and "non merci !" are made of phrases,
    "non, aidez-moi" is not ("aidez" is no phrase). An answer without words never is.
    """
    answer = _words(text)
    needles = {words for words in (_words(phrase) for phrase in phrases) if words}
    if not answer or not needles:
        return False
    # reached[i]: the first i words are a sequence of phrases.
    reached = [True] + [False] * len(answer)
    for start in range(len(answer)):
        if reached[start]:
            for words in needles:
                end = start + len(words)
                if answer[start:end] == words:
                    reached[end] = True
    return reached[-1]
