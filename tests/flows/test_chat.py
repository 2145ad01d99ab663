"""`relais chat`: the terminal simulator, stored on the configured database."""

from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from storage.db import Database
from storage.models import Case, Contact, Conversation, Message

# A whole first contact in Dari, answered with Persian digits where a number is asked.
DARI_FIRST_CONTACT = [
    "سلام",
    "۴",  # دری
    "بلی",  # consent
    "۴",  # 26 to 59
    "مریم",
    "۶",  # something else
    "می‌خواهم کار پیدا کنم",
    "۷۵۰۱۱",
    "۱",  # write here
    "۱",  # morning
]
ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF]")


def test_chat_runs_first_contact_to_the_end_in_dari(runner: CliRunner, database_url: str) -> None:
    result = runner.invoke(
        main, ["chat", "--lang", "fa_AF"], input="\n".join(DARI_FIRST_CONTACT) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "[case #1: new_intake, normal, queue intake]" in result.output
    # Every message sent was in Dari, with its SMS count shown.
    assert "└ " in result.output
    assert "UCS-2" in result.output

    database = Database(database_url)
    with database.read() as session:
        contact = session.scalars(select(Contact)).one()
        run = session.scalars(select(Conversation)).one()
        sent = session.scalars(select(Message).where(Message.direction == "out")).all()
        case = session.scalars(select(Case)).one()
    database.dispose()
    assert (contact.language, contact.display_name) == ("fa_AF", "مریم")
    assert contact.fields["postcode"] == "75011"
    assert (run.flow, run.status, run.outcome) == ("first_contact", "completed", "completed")
    assert sent
    assert all(ARABIC_SCRIPT.search(message.text or "") for message in sent[1:])
    assert all(message.status == "delivered" for message in sent)
    assert case.reason == "new_intake"


def test_chat_can_start_a_flow_at_once_and_let_time_pass(
    runner: CliRunner, database_url: str
) -> None:
    result = runner.invoke(
        main,
        ["chat", "--lang", "fr", "--flow", "weekly_checkin", "--channel", "telegram"],
        input="/wait 25h\n/wait 2d\n",
    )
    assert result.exit_code == 0, result.output
    # The question with its buttons, one reminder after a day, then the week is missed.
    assert "[ Souvent ou toujours ]  [ Une partie du temps ]" in result.output
    assert "25h later" in result.output
    database = Database(database_url)
    with database.read() as session:
        run = session.scalars(select(Conversation)).one()
        sent = session.scalars(select(Message).where(Message.direction == "out")).all()
    database.dispose()
    assert (run.status, run.outcome) == ("completed", "missed")
    assert len(sent) == 2


def test_an_unknown_wait_is_explained(runner: CliRunner) -> None:
    result = runner.invoke(main, ["chat", "--flow", "weekly_checkin"], input="/wait soon\n")
    assert result.exit_code == 0
    assert "soon" in result.output


def test_chat_shows_the_danger_reply_and_the_waiting_notice_the_hooks_queued(
    runner: CliRunner, database_url: str
) -> None:
    # The safety hook queues its reply (urgent, ahead of everything) instead of replying
    # in line: the terminal once showed nothing at all to "je veux mourir".
    result = runner.invoke(
        main, ["chat", "--lang", "fr"], input="je veux mourir\nallo\n/wait 31m\nvous êtes là ?\n"
    )
    assert result.exit_code == 0, result.output
    assert "Appelez le 3114 maintenant" in result.output
    assert "Une personne de notre équipe va vous répondre très vite." in result.output
    database = Database(database_url)
    with database.read() as session:
        sent = session.scalars(select(Message).where(Message.direction == "out")).all()
    database.dispose()
    assert [message.kind for message in sent] == ["safety", "safety"]
    assert all(message.status == "delivered" for message in sent)
