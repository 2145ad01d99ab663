"""Danger detection: every inbound message is scanned first, and danger is answered at once.

`scan` reads a message against the lexicon of flows/safety.yaml. `SafetyHook` is the
conversation service's first inbound hook: on danger it queues the helpline reply ahead
of everything else for that person (even opted out, even while a worker holds their
case), opens or feeds an urgent case, and tells the on-call path. The flows then stay
quiet: a cry for help gets the numbers and a person, not the next question.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import alerts, outbox
from bot.config import Settings
from bot.conversation import held_case
from bot.effects import attach_to_case, request_case
from bot.engine.text import Translations, fill, for_language
from bot.i18n import LANGUAGES, negotiate, shipped_language
from bot.runtime import FlowRuntime
from bot.safety_lexicon import SafetyLexicon, folded, shipped_lexicon
from bot.safety_texts import REPLIES
from storage.models import Case, CaseEvent, Contact, ContactAddress, Message, Priority

__all__ = ["CASE_QUEUE", "CASE_REASON", "Detection", "SafetyHook", "Scanner", "scan"]

log = logging.getLogger(__name__)

CASE_REASON = "danger"
CASE_QUEUE = "urgent"
# Longer than any SMS or Telegram message: enough to read what a person wrote, and a
# bound on the work a pasted novel can cause.
MAX_SCANNED_CHARS = 5000
# How much of the message the case summary quotes; the whole message is on the case.
SUMMARY_QUOTE_CHARS = 300


@dataclass(frozen=True, slots=True)
class Detection:
    """What the scan found: the category, the lexicon phrase and the language it is from."""

    category: str
    phrase: str
    language: str
    line: int


class Scanner:
    """Scans text against one lexicon; pure, and compiled once."""

    def __init__(self, lexicon: SafetyLexicon) -> None:
        self.lexicon = lexicon

    def scan(self, text: str, language: str | None = None) -> Detection | None:
        """The most urgent danger in `text`, or None.

        People mix languages, so every shipped lexicon is read: the person's language
        first, then French and English, then the others. The category comes first,
        though: suicide in any language outranks violence in the person's own.
        """
        if not text:
            return None
        base = folded(text[:MAX_SCANNED_CHARS])
        lines: dict[str, str] = {}
        order = self._order(language)
        for category in self.lexicon.categories:
            for code in order:
                compiled = self.lexicon.languages[code]
                if code not in lines:
                    lines[code] = compiled.line(base)
                phrase = compiled.find(category, lines[code])
                if phrase is not None:
                    return Detection(category, phrase.text, code, phrase.line)
        return None

    def _order(self, language: str | None) -> list[str]:
        first = shipped_language(language)
        preferred = [first, "fr", "en", *LANGUAGES]
        seen: dict[str, None] = {}
        for code in preferred:
            if code is not None and code in self.lexicon.languages:
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


# The on-call alert path lives in bot/alerts.py; this is its expected signature.
class SafetyHook:
    """The first inbound hook: answers danger at once, whatever state the person is in."""

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
        """True when the message was danger and has been answered; never raises."""
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
        """The person's chosen language; before they chose, the one they wrote danger in."""
        return shipped_language(contact.language) or detection.language

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
            "phrase": detection.phrase,
            "language": detection.language,
        }
        attach_to_case(case, message, now, data={"safety": found})
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
            # The worker talking with the person sees the message arrive in their case too.
            attach_to_case(
                held, message, now, data={"safety": found, "danger_case_id": case.id}, link=False
            )
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


def _summary(text: str, detection: Detection) -> str:
    flat = " ".join(text.split())
    quote = flat if len(flat) <= SUMMARY_QUOTE_CHARS else f"{flat[: SUMMARY_QUOTE_CHARS - 1]}…"
    return f"[{detection.category}] «{quote}»"
