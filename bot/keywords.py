"""Global commands: STOP, START, HELP, HUMAN, LANGUAGE, ERASE, PAUSE, RESUME, in every language.

A message is a command when it is (nearly) only the command's word or phrase:

- compared folded: any letter case, with or without accents or harakat, curly or straight
  apostrophes, Turkish dotted/dotless i alike, letters repeated 3 times or more read once
  ("STOOOP"), a Telegram command form accepted ("/stop", "/stop@RelaisBot");
- punctuation and emoji around or between the words are ignored ("Stop !!!", "STOP 😡");
- at most one courtesy word or phrase before it and one after it ("svp", "merci",
  "bonjour", "please", "لطفا"…): "Bonjour, STOP svp" is STOP;
- anything else makes it a sentence, which goes to the flows: "je voudrais que ça
  s'arrête", "stop the check-ins on Monday", "aide-moi à remplir" are not commands.

Words of every shipped language are recognised whoever writes them (someone may write in
Arabic before choosing Arabic), except a few that are ordinary words in another shipped
language: Turkish "dur" ("stop") is French for "hard", so it is a command only for people
whose language is Turkish.

`KeywordHook` acts on them (an `InboundHook`, wired after the safety scan and the flood
limit). Its decisions:

- STOP opts out: `contact.opted_out_at`, the waiting run ends, the weekly check-in is
  stopped (an `EnrolmentChange` "stopped" that remembers what it was), messages still
  queued are dropped, and one confirmation leaves (kind "opt_out", which the dispatcher
  delivers even to an opted-out person). A second STOP gets no answer.
- While opted out, every message is stored and gets no answer (the safety scan, before
  this hook, still answers danger), except START or RESUME, which opt back in, and ERASE,
  because erasure is a right that opting out does not take away.
- START restores what STOP stopped: messages, and the weekly check-in if STOP had stopped
  an active one. The confirmation says so and how to pause it: nothing resumes silently.
- PAUSE pauses the weekly check-in (a check-in waiting for answers ends, so its silence
  does not count as missed); RESUME (REPRENDRE…) brings it back. RESUME is its own word,
  distinct from START: START is about all messages, RESUME about the weekly one. RESUME
  from an opted-out person does both.
- HELP answers who we are, how to reach a person, the emergency numbers, then asks the
  waiting question again, so the person knows where they were.
- HUMAN opens (or adds to) an "asked_for_person" case; the waiting run stays as it is.
  With a worker already holding a case, the message just goes to that case.
- LANGUAGE opens the language menu on top of the waiting run: once a language is chosen,
  the run asks its question again, in the new language. With no run, the menu alone.
- ERASE asks for a confirmation (kept in `contact.fields`, valid 30 minutes); yes erases
  through `bot.privacy.erase_contact`, which removes the address too, so the question
  warns that it is our last message; no keeps everything (and says so); anything else
  is not an answer and goes to the flows, the question dropped.
- An empty message (an SMS sent by mistake, a message made only of invisible characters)
  is stored and not answered, unless it is the person's very first message.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot import keyword_texts as texts
from bot import outbox
from bot.checkins import CHECKIN_FLOW, set_status
from bot.conversation import (
    FIRST_CONTACT_FLOW,
    ConversationService,
    active_conversation,
    end_conversation,
    held_case,
)
from bot.dispatch import ALWAYS_DELIVERED_KINDS
from bot.effects import attach_to_case, request_case
from bot.engine.answers import parse_yes_no
from bot.engine.normalise import words
from bot.engine.state import Frame, RunState, StateError
from bot.engine.steps.base import AskStep
from bot.engine.text import for_language
from bot.privacy import erase_contact, forget_without_consent
from storage.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Checkin,
    CheckinEnrolment,
    CheckinStatus,
    Contact,
    ContactAddress,
    Conversation,
    EnrolmentChange,
    EnrolmentStatus,
    Message,
    MessageStatus,
    OutboxItem,
    Priority,
    RunStatus,
)

log = logging.getLogger(__name__)

__all__ = [
    "ERASE_CONFIRMATION_VALID",
    "LANGUAGE_FLOW",
    "PENDING_FIELD",
    "Command",
    "KeywordHook",
    "command_words",
    "match_command",
]


class Command(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"
    HUMAN = "human"
    LANGUAGE = "language"
    ERASE = "erase"
    PAUSE = "pause"
    RESUME = "resume"


# Comma-separated phrases, spelt naturally: they are folded like the messages.
_WORDS: dict[str, dict[Command, str]] = {
    "fr": {
        Command.STOP: "stop, stopper, arrêt, arrêter, arrêtez, arrête, stop sms, désabonner, "
        "me désabonner, désabonnement, désinscription, désinscrire",
        Command.START: "start, démarrer, redémarrer, réactiver, réabonner, me réabonner",
        Command.HELP: "aide, à l'aide, info, infos, sos",
        Command.HUMAN: "humain, un humain, une personne, une vraie personne, vraie personne, "
        "parler, parler à quelqu'un, parler à une personne, parler à un humain, agent, "
        "un agent, opérateur, opératrice, appelez-moi, rappelez-moi",
        Command.LANGUAGE: "langue, langues, changer de langue, changer la langue, autre langue",
        Command.ERASE: "oubli, oublier, oubliez-moi, droit à l'oubli, supprimer, suppression, "
        "supprimer mes données, effacer, effacer mes données",
        Command.PAUSE: "pause, en pause, mettre en pause, faire une pause",
        Command.RESUME: "reprendre, reprise, fin de pause",
    },
    "en": {
        Command.STOP: "stop, stop all, stopall, unsubscribe, opt out, optout",
        Command.START: "start, unstop, subscribe, resubscribe, opt in, optin",
        Command.HELP: "help, help me",
        Command.HUMAN: "human, a human, person, a person, real person, a real person, operator, "
        "talk to someone, talk to a person, speak to someone, speak to a person, call me",
        Command.LANGUAGE: "language, languages, change language",
        Command.ERASE: "delete, delete me, delete my data, erase, erase my data, forget me",
        Command.PAUSE: "pause",
        Command.RESUME: "resume, unpause",
    },
    "ar": {
        Command.STOP: "توقف, قف, أوقف, إيقاف, إلغاء الاشتراك, الغاء الاشتراك",
        Command.START: "ابدأ, ابدا, بدء, تشغيل",
        Command.HELP: "مساعدة, مساعده, ساعدني, النجدة",
        Command.HUMAN: "شخص, إنسان, موظف, أريد شخص, التحدث مع شخص, أريد التحدث مع شخص, كلمني",
        Command.LANGUAGE: "لغة, اللغة, تغيير اللغة",
        Command.ERASE: "حذف, احذف, امسح, مسح, احذف بياناتي, حذف بياناتي, امسح بياناتي",
        Command.PAUSE: "إيقاف مؤقت, توقف مؤقت",
        Command.RESUME: "استئناف, استأنف, استمرار",
    },
    "fa_AF": {
        Command.STOP: "توقف, توقف کن, ایست, لغو, لغو اشتراک, بس کن",
        Command.START: "شروع, شروع کن, دوباره شروع",
        # Bare "کمک" is also a cry for help, which the danger scan answers first.
        Command.HELP: "راهنما, راهنمایی, کمک, کمک کنید",
        Command.HUMAN: "شخص, یک شخص, انسان, کارمند, گپ با شخص, صحبت با شخص, "
        "می‌خواهم با یک شخص گپ بزنم",
        Command.LANGUAGE: "زبان, تغییر زبان",
        Command.ERASE: "حذف, پاک, پاک کن, پاک کنید, حذف معلومات, معلوماتم را پاک کنید",
        Command.PAUSE: "توقف موقت, وقفه, مکث",
        Command.RESUME: "ادامه, ادامه بده, ادامه بدهید",
    },
    "uk": {
        # Many Ukrainians also write in Russian: its words are here too.
        Command.STOP: "стоп, зупинити, зупиніть, припинити, відписатися, відписка, "
        "остановить, отписаться",
        Command.START: "старт, почати, підписатися, начать",
        Command.HELP: "допомога, допоможіть, довідка, помощь, помогите",
        Command.HUMAN: "людина, жива людина, оператор, працівник, поговорити з людиною, "
        "человек, живой человек",
        Command.LANGUAGE: "мова, змінити мову, язык",
        Command.ERASE: "видалити, видаліть, видалити мої дані, забудьте мене, удалить",
        Command.PAUSE: "пауза, призупинити",
        Command.RESUME: "продовжити, відновити, продолжить",
    },
    "pt": {
        Command.STOP: "parar, pare, cancelar, sair, cancelar inscrição",
        Command.START: "começar, comecar, iniciar, recomeçar",
        Command.HELP: "ajuda, socorro",
        Command.HUMAN: "humano, pessoa, uma pessoa, atendente, falar com alguém, "
        "falar com uma pessoa",
        Command.LANGUAGE: "idioma, língua, mudar de idioma, mudar idioma",
        Command.ERASE: "apagar, apagar os meus dados, apagar meus dados, excluir, eliminar, "
        "esqueçam-me",
        Command.PAUSE: "pausa, pausar",
        Command.RESUME: "retomar, despausar",
    },
    "tr": {
        Command.STOP: "dur, durdur, iptal, abonelikten çık, ret",
        Command.START: "başla, başlat, yeniden başla",
        Command.HELP: "yardım, yardım edin, imdat",
        Command.HUMAN: "insan, bir insan, kişi, bir kişi, görevli, temsilci, biriyle konuşmak",
        Command.LANGUAGE: "dil, dili değiştir, dil değiştir",
        Command.ERASE: "sil, verilerimi sil, beni unut",
        Command.PAUSE: "duraklat, ara ver",
        Command.RESUME: "devam, devam et",
    },
}

# Ordinary words in another shipped language: commands only for people who speak theirs.
_OWN_LANGUAGE_ONLY: dict[str, str] = {
    "tr": "dur, ret, sil",  # French "dur" (hard); "ret" and "sil" are too short to be safe
    "pt": "pare",  # French "paré" (ready)
}

# Courtesy around a command: one before and one after, at most.
_COURTESY: dict[str, str] = {
    "fr": "svp, stp, s'il vous plaît, s'il te plaît, merci, merci beaucoup, bonjour, bonsoir, "
    "salut, coucou",
    "en": "please, pls, plz, thanks, thank you, hello, hi",
    "ar": "من فضلك, لو سمحت, شكرا, مرحبا, السلام عليكم",
    "fa_AF": "لطفا, لطفاً, مهربانی, تشکر, سلام",
    "uk": "будь ласка, дякую, привіт, пожалуйста, спасибо",
    "pt": "por favor, obrigado, obrigada, olá, oi",
    "tr": "lütfen, teşekkürler, merhaba",
}

# Longer messages are sentences, whatever they say; it also bounds the matching work.
_MAX_COMMAND_CHARS = 80
_TELEGRAM_COMMAND = re.compile(r"\s*/(\w+)(?:@\w+)?\s*")

Phrase = tuple[str, ...]


def _words(text: str) -> Phrase:
    """The words of a text as every matcher reads them (bot/engine/normalise.py)."""
    return words(text)


def _phrases(listing: str) -> Iterator[Phrase]:
    for phrase in listing.split(","):
        if words := _words(phrase):
            yield words


@dataclass(frozen=True)
class _Tables:
    everyone: Mapping[Phrase, Command]
    own_language: Mapping[str, Mapping[Phrase, Command]]
    courtesy: frozenset[Phrase]


def _build() -> _Tables:
    everyone: dict[Phrase, Command] = {}
    own: dict[str, dict[Phrase, Command]] = {}
    for language, commands in _WORDS.items():
        only_here = set(_phrases(_OWN_LANGUAGE_ONLY.get(language, "")))
        for command, listing in commands.items():
            for phrase in _phrases(listing):
                table = own.setdefault(language, {}) if phrase in only_here else everyone
                if table.get(phrase, command) != command:
                    # Caught at import: a phrase meaning two commands is a bug in the lists.
                    raise ValueError(f"{' '.join(phrase)!r} means two commands")
                table[phrase] = command
    courtesy = frozenset(p for listing in _COURTESY.values() for p in _phrases(listing))
    return _Tables(everyone, own, courtesy)


_TABLES = _build()


def _lookup(words: Phrase, language: str | None) -> Command | None:
    found = _TABLES.everyone.get(words)
    if found is None and language is not None:
        found = _TABLES.own_language.get(language, {}).get(words)
    return found


def match_command(text: str, language: str | None = None) -> Command | None:
    """The command `text` is, for a person speaking `language`; None for anything else."""
    if len(text) > _MAX_COMMAND_CHARS:
        return None
    telegram = _TELEGRAM_COMMAND.fullmatch(text)
    words = _words(telegram.group(1) if telegram else text)
    if not words:
        return None
    # Optional courtesy before and after: try every split, the command in the middle.
    befores = [0] + [len(p) for p in _TABLES.courtesy if words[: len(p)] == p]
    afters = [0] + [
        len(p) for p in _TABLES.courtesy if len(p) < len(words) and words[-len(p) :] == p
    ]
    for before in befores:
        for after in afters:
            middle = words[before : len(words) - after]
            if middle and (command := _lookup(middle, language)) is not None:
                return command
    return None


def command_words(command: Command, language: str) -> list[str]:
    """The phrases that mean `command` in `language` (for documentation and tests)."""
    return [" ".join(p) for p in _phrases(_WORDS[language][command])]


# ---------------------------------------------------------------------------- the hook

LANGUAGE_FLOW = "change_language"
# Where the pending ERASE confirmation waits, in the person's fields.
PENDING_FIELD = "pending_command"
ERASE_CONFIRMATION_VALID = timedelta(minutes=30)
ASKED_FOR_PERSON = "asked_for_person"


class KeywordHook:
    """An InboundHook: global commands, opted-out silence, empty messages."""

    def __init__(self, service: ConversationService) -> None:
        self.service = service

    def __call__(
        self, session: Session, contact: Contact, address: ContactAddress, message: Message
    ) -> bool:
        now = message.created_at
        text = message.text or ""
        language = self.service.language_of(contact)
        command = match_command(text, language) if message.kind == "text" else None
        pending = _pending_erase(contact, now)
        if pending is not None or PENDING_FIELD in contact.fields:
            # Any new message settles the question: a command, an answer, or moving on.
            contact.fields = {k: v for k, v in contact.fields.items() if k != PENDING_FIELD}
        if contact.opted_out_at is not None:
            return self._while_opted_out(session, contact, address, message, command, pending)
        if command is None and pending is not None:
            return self._confirm_erase(session, contact, address, message, now)
        if command is not None and self._handles(command, session, contact):
            self._note_on_held_case(session, contact, message, now)
            self._run(command, session, contact, address, message, now)
            return True
        if message.kind == "text" and not text.strip():
            return self._empty(session, contact)
        return False

    # --- states ---

    def _while_opted_out(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        command: Command | None,
        pending: datetime | None,
    ) -> bool:
        now = message.created_at
        # Telegram's Start button is the platform's own "start again".
        if command in (Command.START, Command.RESUME) or message.kind == "start":
            self._start(session, contact, address, now, resume=command is Command.RESUME)
        elif command is Command.ERASE:
            self._ask_erase(session, contact, address, now)
        elif command is None and pending is not None:
            self._confirm_erase(session, contact, address, message, now)
        # Anything else: stored, no answer; a second STOP is not confirmed again.
        return True

    def _handles(self, command: Command, session: Session, contact: Contact) -> bool:
        # START as someone's very first message (a poster said "send START") is a hello:
        # the flows start their first contact.
        return command is not Command.START or _has_talked(session, contact)

    def _run(
        self,
        command: Command,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        now: datetime,
    ) -> None:
        if command is Command.STOP:
            self._stop(session, contact, address, now)
        elif command is Command.START:
            self._send(session, contact, address, texts.ALREADY_STARTED, now)
            self._repeat_question(session, contact, address, now)
        elif command is Command.HELP:
            self._send(session, contact, address, texts.HELP, now)
            self._repeat_question(session, contact, address, now)
        elif command is Command.HUMAN:
            self._human(session, contact, address, message, now)
        elif command is Command.LANGUAGE:
            self._change_language(session, contact, address, message, now)
        elif command is Command.ERASE:
            self._ask_erase(session, contact, address, now)
        elif command is Command.PAUSE:
            self._pause(session, contact, address, now)
        elif command is Command.RESUME:
            self._resume(session, contact, address, now)

    def _empty(self, session: Session, contact: Contact) -> bool:
        # A new person's first message starts their first contact, whatever it says.
        return _has_talked(session, contact)

    # --- STOP / START ---

    def _stop(
        self, session: Session, contact: Contact, address: ContactAddress, now: datetime
    ) -> None:
        contact.opted_out_at = now
        self._end_run(session, contact, now, "opted_out")
        enrolment = _enrolment(session, contact)
        if enrolment is not None and enrolment.status != EnrolmentStatus.STOPPED:
            _change(
                session, enrolment, EnrolmentStatus.STOPPED, "stopped", now, was=enrolment.status
            )
        _drop_queued(session, contact, now)
        for case in _open_cases(session, contact):
            # The worker reading the case must know their replies will not be delivered.
            case.events.append(CaseEvent(kind="opted_out", created_at=now))
        self._send(session, contact, address, texts.STOPPED, now, kind="opt_out")

    def _start(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        now: datetime,
        *,
        resume: bool,
    ) -> None:
        contact.opted_out_at = None
        enrolment = _enrolment(session, contact)
        restored = False
        if enrolment is not None and (
            _stopped_by_stop(session, enrolment, active_before=True)
            or (resume and _resumable(session, enrolment))
        ):
            _change(session, enrolment, EnrolmentStatus.ACTIVE, "resumed", now)
            restored = True
        text = texts.STARTED_WITH_CHECKINS if restored else texts.STARTED
        self._send(session, contact, address, text, now)

    # --- PAUSE / RESUME ---

    def _pause(
        self, session: Session, contact: Contact, address: ContactAddress, now: datetime
    ) -> None:
        enrolment = _enrolment(session, contact)
        if enrolment is None or enrolment.status == EnrolmentStatus.STOPPED:
            self._send(session, contact, address, texts.NO_CHECKINS, now)
            return
        if enrolment.status == EnrolmentStatus.ACTIVE:
            _change(session, enrolment, EnrolmentStatus.PAUSED, "paused", now)
            running = active_conversation(session, contact.id)
            if running is not None and running.flow == CHECKIN_FLOW:
                self._end_run(session, contact, now, "paused")
        self._send(session, contact, address, texts.PAUSED, now)

    def _resume(
        self, session: Session, contact: Contact, address: ContactAddress, now: datetime
    ) -> None:
        enrolment = _enrolment(session, contact)
        if enrolment is None:
            self._send(session, contact, address, texts.NO_CHECKINS, now)
        elif enrolment.status == EnrolmentStatus.ACTIVE:
            self._send(session, contact, address, texts.RESUMED, now)
        elif _resumable(session, enrolment):
            _change(session, enrolment, EnrolmentStatus.ACTIVE, "resumed", now)
            self._send(session, contact, address, texts.RESUMED, now)
        else:
            # Stopped by the team, not by the person: not for a keyword to undo.
            self._send(session, contact, address, texts.NO_CHECKINS, now)

    # --- HUMAN, LANGUAGE ---

    def _human(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        now: datetime,
    ) -> None:
        if held_case(session, contact.id) is not None:
            return  # a worker is already talking with them and sees the message
        case = request_case(
            session,
            contact,
            now,
            queue="general",
            priority=Priority.NORMAL,
            reason=ASKED_FOR_PERSON,
            summary="Asked to talk to a person.",
        )
        attach_to_case(case, message, now)
        self._send(session, contact, address, texts.HUMAN_REQUESTED, now)

    def _change_language(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        now: datetime,
    ) -> None:
        running = active_conversation(session, contact.id)
        nested = self._menu_over(running) if running is not None else None
        if running is None or nested is None:
            self.service.start_locked(session, contact, address, LANGUAGE_FLOW, now)
            return
        # The menu is pushed on the run's stack with the waiting step as where to go on:
        # when the menu ends, that step runs again and asks its question in the new
        # language. Nothing the person already answered is lost.
        sprint = self.service.runtime.runner.repeat(nested, self.service.contact_view(contact), now)
        message.conversation_id = running.id
        self.service.apply_sprint(session, contact, address, running, sprint, now)

    def _menu_over(self, running: Conversation) -> dict[str, Any] | None:
        """The run's state with the language menu on top; None when it cannot be done."""
        library = self.service.runtime.library
        if LANGUAGE_FLOW not in library:
            return None
        menu = library.get(LANGUAGE_FLOW)
        if not isinstance(menu.steps.get(menu.start), AskStep):
            return None
        try:
            state = RunState.from_json(running.state)
        except StateError:
            return None
        if state.flow == LANGUAGE_FLOW:
            return state.to_json()  # already in the menu: ask again
        nested = RunState(
            flow=LANGUAGE_FLOW,
            step=menu.start,
            stack=[*state.stack, Frame(flow=state.flow, then=state.step)],
            results=state.results,
            asked_at=state.asked_at,
        )
        return nested.to_json()

    def _repeat_question(
        self, session: Session, contact: Contact, address: ContactAddress, now: datetime
    ) -> None:
        running = active_conversation(session, contact.id)
        if running is None or held_case(session, contact.id) is not None:
            return  # nothing waits, or a worker has the conversation
        try:
            sprint = self.service.runtime.runner.repeat(
                running.state, self.service.contact_view(contact), now
            )
        except StateError:
            return  # the flows will restart it on the next answer
        self.service.apply_sprint(session, contact, address, running, sprint, now)

    # --- ERASE ---

    def _ask_erase(
        self, session: Session, contact: Contact, address: ContactAddress, now: datetime
    ) -> None:
        contact.fields = {
            **contact.fields,
            PENDING_FIELD: {"command": Command.ERASE.value, "asked_at": now.isoformat()},
        }
        self._send(session, contact, address, texts.ERASE_CONFIRM, now, kind=_kind(contact))

    def _confirm_erase(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        message: Message,
        now: datetime,
    ) -> bool:
        answer = parse_yes_no(message.text or "", self.service.language_of(contact))
        if answer is None and contact.opted_out_at is None:
            return False  # not an answer: the person moved on, the flows read it
        if answer is not True:
            self._send(session, contact, address, texts.ERASE_KEPT, now, kind=_kind(contact))
            self._repeat_question(session, contact, address, now)
            return True
        self._erase(session, contact, address, now)
        return True

    def _erase(
        self, session: Session, contact: Contact, address: ContactAddress, now: datetime
    ) -> None:
        # Pending changes go to the database first: erasure rewrites rows in bulk. It
        # deletes the address too, so nothing more can be sent: ERASE_CONFIRM said so.
        session.flush()
        erase_contact(session, contact.id, actor="person", now=now)

    # --- helpers ---

    def _send(
        self,
        session: Session,
        contact: Contact,
        address: ContactAddress,
        text: str,
        now: datetime,
        *,
        kind: str = "keyword",
    ) -> Message:
        language = self.service.language_of(contact)
        translated = self.service.runtime.catalogs.translator(language).gettext(text)
        return outbox.enqueue(session, address, for_language(translated, language), now, kind=kind)

    def _end_run(self, session: Session, contact: Contact, now: datetime, outcome: str) -> None:
        running = active_conversation(session, contact.id)
        if running is None:
            return
        end_conversation(running, now, RunStatus.INTERRUPTED, outcome)
        if running.flow == FIRST_CONTACT_FLOW:
            # Stopped before saying yes: as when first contact ends without consent, what
            # they said is not kept (forget_without_consent does nothing after a yes).
            forget_without_consent(session, running, outcome, {}, now)
        if running.flow == CHECKIN_FLOW:
            # Not "missed": a check-in the person stopped must not count towards "no news".
            checkin = session.scalar(select(Checkin).where(Checkin.conversation_id == running.id))
            if checkin is not None and checkin.status == CheckinStatus.SENT:
                checkin.status = CheckinStatus.SKIPPED
                checkin.skipped_reason = outcome
        session.flush()

    def _note_on_held_case(
        self, session: Session, contact: Contact, message: Message, now: datetime
    ) -> None:
        # A worker talking with the person sees every message, commands included.
        held = held_case(session, contact.id)
        if held is not None and message.case_id is None:
            attach_to_case(held, message, now)


def _has_talked(session: Session, contact: Contact) -> bool:
    """True once any run was started for the person (first contact included)."""
    talked = session.scalar(
        select(Conversation.id).where(Conversation.contact_id == contact.id).limit(1)
    )
    return talked is not None


def _kind(contact: Contact) -> str:
    # Erasure is answered even to someone who opted out: they asked for it.
    return "opt_out" if contact.opted_out_at is not None else "keyword"


def _pending_erase(contact: Contact, now: datetime) -> datetime | None:
    """When the ERASE confirmation was asked, if it is still waiting for its answer."""
    pending = contact.fields.get(PENDING_FIELD)
    if not isinstance(pending, dict) or pending.get("command") != Command.ERASE.value:
        return None
    try:
        asked = datetime.fromisoformat(str(pending.get("asked_at")))
    except ValueError:
        return None
    if asked.tzinfo is None or not now - ERASE_CONFIRMATION_VALID <= asked <= now:
        return None
    return asked


def _enrolment(session: Session, contact: Contact) -> CheckinEnrolment | None:
    return session.scalar(select(CheckinEnrolment).where(CheckinEnrolment.contact_id == contact.id))


def _change(
    session: Session,
    enrolment: CheckinEnrolment,
    status: EnrolmentStatus,
    change: str,
    now: datetime,
    *,
    was: str | None = None,
) -> None:
    detail: dict[str, Any] = {"by": "person"}
    if was is not None:
        detail["was"] = str(was)
    set_status(enrolment, status, now)
    session.add(
        EnrolmentChange(enrolment_id=enrolment.id, change=change, detail=detail, created_at=now)
    )


def _last_change(session: Session, enrolment: CheckinEnrolment) -> EnrolmentChange | None:
    return session.scalar(
        select(EnrolmentChange)
        .where(EnrolmentChange.enrolment_id == enrolment.id)
        .order_by(EnrolmentChange.id.desc())
        .limit(1)
    )


def _stopped_by_stop(session: Session, enrolment: CheckinEnrolment, *, active_before: bool) -> bool:
    """True when the enrolment is stopped because the person sent STOP (and was active then)."""
    if enrolment.status != EnrolmentStatus.STOPPED:
        return False
    last = _last_change(session, enrolment)
    detail = (last.detail or {}) if last is not None else {}
    if last is None or last.change != "stopped" or detail.get("by") != "person":
        return False
    return not active_before or detail.get("was") == EnrolmentStatus.ACTIVE


def _resumable(session: Session, enrolment: CheckinEnrolment) -> bool:
    """A pause, or a STOP, is the person's to undo; a stop by the team is not."""
    if enrolment.status == EnrolmentStatus.PAUSED:
        return True
    return _stopped_by_stop(session, enrolment, active_before=False)


def _drop_queued(session: Session, contact: Contact, now: datetime) -> None:
    """Drop what is still queued for the person, so nothing leaves after STOP."""
    ids = list(
        session.scalars(
            select(OutboxItem.message_id)
            .join(Message, Message.id == OutboxItem.message_id)
            .where(
                OutboxItem.contact_id == contact.id,
                Message.kind.not_in(list(ALWAYS_DELIVERED_KINDS)),
                # A row being sent right now is the dispatcher's: it checks opt-out itself.
                or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
            )
        )
    )
    if not ids:
        return
    session.execute(delete(OutboxItem).where(OutboxItem.message_id.in_(ids)))
    for message in session.scalars(select(Message).where(Message.id.in_(ids))):
        message.status = MessageStatus.FAILED
        message.error_code, message.error_detail = "skipped", "opted out"


def _open_cases(session: Session, contact: Contact) -> list[Case]:
    return list(
        session.scalars(
            select(Case).where(Case.contact_id == contact.id, Case.status != CaseStatus.CLOSED)
        )
    )
