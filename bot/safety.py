"""Danger detection: every inbound message is scanned first, and danger is answered at once.

`scan` reads a message against the lexicon of flows/safety.yaml. `SafetyHook` is the
conversation service's first inbound hook: on danger it queues the helpline reply ahead
of everything else for that person (even opted out, even while a worker holds their
case), opens or feeds an urgent case, and tells the on-call path. The flows then stay
quiet: a cry for help gets the numbers and a person, not the next question.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import alerts, outbox
from bot.config import Settings
from bot.conversation import held_case
from bot.effects import attach_to_case, request_case
from bot.engine.text import Translations, fill, for_language
from bot.i18n import LANGUAGES, negotiate, shipped_language
from bot.runtime import FlowRuntime
from bot.safety_lexicon import SafetyLexicon, shipped_lexicon
from bot.safety_match import prepare
from bot.safety_texts import REPLIES, WAITING
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Contact,
    ContactAddress,
    Direction,
    Message,
    Priority,
)

__all__ = [
    "CASE_QUEUE",
    "CASE_REASON",
    "Detection",
    "SafetyHook",
    "SafetyWaitHook",
    "Scanner",
    "scan",
    "waiting_danger_case",
]

log = logging.getLogger(__name__)

CASE_REASON = "danger"
CASE_QUEUE = "urgent"
# Longer than any SMS or Telegram message: enough to read what a person wrote, and a
# bound on the work a pasted novel can cause.
MAX_SCANNED_CHARS = 5000
# How much of the message the case summary quotes; the whole message is on the case.
SUMMARY_QUOTE_CHARS = 300
# What the model finds (no lexicon did): a concern, its situation named for the worker.
RESEMBLANCE_CATEGORY = "concern"
RESEMBLANCE_SITUATION = "resemblance"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Detection:
    """What the scan found: situation, category and level, the phrase and its lexicon."""

    category: str
    phrase: str
    language: str
    line: int
    situation: str = ""
    level: str = "danger"
    # The shipped language of the lexicon that found it (Russian reads as Ukrainian).
    reply_language: str = ""
    # The lexicon's script: a Latin-script match says little about the person's language.
    script: str = "latin"


class Scanner:
    """Scans text against every lexicon; pure, and compiled once."""

    def __init__(self, lexicon: SafetyLexicon) -> None:
        self.lexicon = lexicon

    def scan(self, text: str, language: str | None = None) -> Detection | None:
        """The most urgent danger in `text`, or None.

        People mix languages, so every lexicon is read: the person's own first (with
        Russian and Latin-script writing for theirs), then French and English, then the
        others. The category comes first, though: an overdose in any language outranks
        violence in the person's own, and any danger outranks a concern.
        """
        if not text:
            return None
        base = prepare(text[:MAX_SCANNED_CHARS])
        lines: dict[str, list[tuple[str, list[int]]]] = {}
        order = self._order(language)
        laughs = self.lexicon.laughter.found(text[:MAX_SCANNED_CHARS], _WORD.findall(base))
        for category, about in self.lexicon.categories.items():
            if laughs and about.laughter_cancels:
                continue
            for code in order:
                compiled = self.lexicon.lexicons[code]
                if category not in compiled.combined:
                    continue
                if code not in lines:
                    lines[code] = compiled.lines(base)
                found = compiled.find(category, lines[code], about.laughter_cancels)
                if found is not None:
                    return Detection(
                        category=category,
                        phrase=found.phrase.text,
                        language=code,
                        line=found.phrase.line,
                        situation=found.phrase.situation,
                        level=self.lexicon.categories[category].level,
                        reply_language=compiled.reply,
                        script=compiled.script,
                    )
        return self._resemblance(base, language, bool(laughs))

    def _resemblance(self, base: str, language: str | None, laughs: bool) -> Detection | None:
        """What no lexicon listed, read by the model: a concern when it resembles danger.

        The model does not know which danger it is, so never a category's helplines:
        the concern reply, and a person to assess it (bot/safety_model.py). A message that
        laughs is not read by it: what no lexicon found, told laughing, is a joke.
        """
        model = self.lexicon.model
        concern = self.lexicon.categories.get(RESEMBLANCE_CATEGORY)
        if model is None or concern is None or laughs:
            return None
        if not model.alarms(base):
            return None
        return Detection(
            category=RESEMBLANCE_CATEGORY,
            phrase=" · ".join(model.evidence(base)),
            language=shipped_language(language) or "",
            line=0,
            situation=RESEMBLANCE_SITUATION,
            level=concern.level,
        )

    def _order(self, language: str | None) -> list[str]:
        first = shipped_language(language)
        lexicons = self.lexicon.lexicons
        preferred = [code for code in lexicons if lexicons[code].reply == first]
        preferred.sort(key=lambda code: code != first)
        seen: dict[str, None] = dict.fromkeys(preferred)
        for code in ("fr", "en", *LANGUAGES, *sorted(lexicons)):
            if code in lexicons:
                seen.setdefault(code, None)
        return list(seen)


def scan(text: str, language: str | None = None) -> Detection | None:
    """Scan against the shipped flows/safety.yaml (see `Scanner.scan`)."""
    return _shipped_scanner().scan(text, language)


_scanner: Scanner | None = None


def _shipped_scanner() -> Scanner:
    global _scanner
    if _scanner is None:
        _scanner = Scanner(shipped_lexicon())
    return _scanner


class SafetyHook:
    """The first inbound hook: answers danger and concern at once, whatever the state."""

    def __init__(
        self,
        runtime: FlowRuntime | Translations,
        settings: Settings,
        scanner: Scanner | None = None,
    ) -> None:
        self.translations: Translations = (
            runtime.catalogs if isinstance(runtime, FlowRuntime) else runtime
        )
        self.settings = settings
        # Loaded now, not on the first message: a broken flows/safety.yaml stops start-up
        # (FlowError, with file:line) instead of silently disabling detection.
        self.scanner = scanner or _shipped_scanner()

    def __call__(
        self, session: Session, contact: Contact, address: ContactAddress, message: Message
    ) -> bool:
        """True when the message was danger or concern and has been answered; never raises."""
        try:
            detection = self.scanner.scan(message.text or "", self._scan_language(contact))
            if detection is None:
                return False
            # A savepoint: if anything below fails, nothing half-done stays, and the flows
            # still get the message rather than nobody answering it.
            with session.begin_nested():
                case = self._respond(session, contact, address, message, detection)
        except Exception:
            log.exception("safety scan failed on message %s; the flows take it", message.id)
            return False
        self._alert(session, case, message.created_at)
        return True

    def _scan_language(self, contact: Contact) -> str:
        return negotiate(contact.language, contact.language_hint, self.settings.default_language)

    def reply_language(self, contact: Contact, detection: Detection) -> str:
        """The person's language; before they chose one, what they wrote in, else the default.

        A lexicon of its own alphabet (Arabic, Dari, Ukrainian, Russian) says which language
        someone writes; Latin letters do not ("suicide" is French and English), so a new
        person who wrote in Latin letters gets the association's default language.
        """
        known = shipped_language(contact.language) or shipped_language(contact.language_hint)
        if known is not None:
            return known
        if detection.script != "latin" and detection.reply_language:
            return detection.reply_language
        return self.settings.default_language

    def reply_text(self, detection: Detection, language: str) -> str:
        """The category's reply in `language`, numbers from flows/safety.yaml, RTL-isolated."""
        template = self.translations.translator(language).gettext(REPLIES[detection.category])
        numbers = self.scanner.lexicon.numbers(detection.category)
        return for_language(fill(template, lambda name: numbers.get(name, "")), language)

    def _respond(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        detection: Detection,
    ) -> Case:
        now = message.created_at
        language = self.reply_language(contact, detection)
        case = request_case(
            session,
            contact,
            now,
            queue=CASE_QUEUE,
            priority=Priority.URGENT,
            reason=CASE_REASON,
            summary=_summary(message.text or "", detection),
            category=detection.category,
        )
        self._keep_most_urgent_category(case, detection.category)
        found = {
            "category": detection.category,
            "situation": detection.situation,
            "level": detection.level,
            "phrase": detection.phrase,
            "language": detection.language,
        }
        attach_to_case(case, message, now, data={"safety": found})
        mark_message(message, detection)
        reply = outbox.enqueue(
            session,
            address,
            self.reply_text(detection, language),
            now,
            kind="safety",
            priority=outbox.PRIORITY_URGENT,
            case_id=case.id,
        )
        case.events.append(
            CaseEvent(
                kind="reply",
                message_id=reply.id,
                data={"automatic": "safety", "language": language},
                created_at=now,
            )
        )
        held = held_case(session, contact.id)
        if held is not None and held.id != case.id:
            # The worker talking with the person sees the message arrive in their case,
            # marked, and the case moves up to urgent.
            attach_to_case(
                held, message, now, data={"safety": found, "danger_case_id": case.id}, link=False
            )
            held.priority, held.priority_rank = Priority.URGENT, Priority.URGENT.rank
        session.flush()
        return case

    def _keep_most_urgent_category(self, case: Case, category: str) -> None:
        # An open danger case takes new messages; it shows the most urgent category seen.
        ranks = list(self.scanner.lexicon.categories)
        current = case.category
        if current not in ranks or ranks.index(category) < ranks.index(current):
            case.category = category

    def _alert(self, session: Session, case: Case, now: datetime) -> None:
        try:
            with session.begin_nested():
                alerts.alert_now(session, case, now, settings=self.settings)
        except Exception:
            # The reply is queued and the case is open: a failed alert must not undo them.
            log.exception("on-call alert failed for case %s", case.id)


def mark_message(message: Message, detection: Detection) -> None:
    """Record on the message what the scan found, so the transcript can highlight it."""
    payload = dict(message.payload or {})
    payload["safety"] = {"category": detection.category, "level": detection.level}
    message.payload = payload


def _summary(text: str, detection: Detection) -> str:
    flat = " ".join(text.split())
    quote = flat if len(flat) <= SUMMARY_QUOTE_CHARS else f"{flat[: SUMMARY_QUOTE_CHARS - 1]}…"
    return f"[{detection.category}] «{quote}»"


# While a danger or concern case waits for a worker, the person hears at most this often
# that someone is coming, however many messages they send.
WAITING_REPLY_EVERY = timedelta(minutes=30)


class SafetyWaitHook:
    """After the commands: while a danger case waits unclaimed, the flows stay quiet.

    The person's next messages join the case (the worker reads them there) and get at
    most one short "someone is coming; in danger now: 112 or SMS 114" every 30 minutes,
    never the language menu or "I did not understand". STOP and the other commands still
    work: this hook runs after them.
    """

    def __init__(self, safety: SafetyHook) -> None:
        self.safety = safety

    def __call__(
        self, session: Session, contact: Contact, address: ContactAddress, message: Message
    ) -> bool:
        """True when the message joined a waiting danger case."""
        case = waiting_danger_case(session, contact.id)
        if case is None:
            return False
        now = message.created_at
        attach_to_case(case, message, now)
        if not _replied_since(session, contact.id, now - WAITING_REPLY_EVERY):
            language = self._language(case, contact)
            numbers = {
                name: helpline.number
                for name, helpline in self.safety.scanner.lexicon.helplines.items()
            }
            template = self.safety.translations.translator(language).gettext(WAITING)
            text = for_language(fill(template, lambda name: numbers.get(name, "")), language)
            reply = outbox.enqueue(
                session,
                address,
                text,
                now,
                kind="safety",
                priority=outbox.PRIORITY_URGENT,
                case_id=case.id,
            )
            case.events.append(
                CaseEvent(
                    kind="reply",
                    message_id=reply.id,
                    data={"automatic": "safety_waiting", "language": language},
                    created_at=now,
                )
            )
        return True

    def _language(self, case: Case, contact: Contact) -> str:
        # The language the danger reply went out in (a new person's, read from what they
        # wrote), unless the person has chosen one since.
        chosen = shipped_language(contact.language) or shipped_language(contact.language_hint)
        if chosen is not None:
            return chosen
        for event in reversed(case.events):
            if event.kind == "reply" and event.data and event.data.get("language"):
                return str(event.data["language"])
        return self.safety.settings.default_language


def waiting_danger_case(session: Session, contact_id: int) -> Case | None:
    """The person's danger or concern case that no worker has claimed yet, if any."""
    return session.scalar(
        select(Case)
        .where(
            Case.contact_id == contact_id,
            Case.reason == CASE_REASON,
            Case.status == CaseStatus.OPEN,
        )
        .order_by(Case.opened_at.desc())
        .limit(1)
    )


def _replied_since(session: Session, contact_id: int, since: datetime) -> bool:
    sent = select(Message.id).where(
        Message.contact_id == contact_id,
        Message.direction == Direction.OUT,
        Message.kind == "safety",
        Message.created_at >= since,
    )
    return session.scalar(sent.limit(1)) is not None
