"""Many workers click "Claim" at the same moment: exactly one holds the case."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from bot import audit, cases, clock
from storage.db import Database
from storage.models import AuditEntry, Case, CaseEvent
from tests.cases.builders import Staff, staff

RACERS = 8


def test_concurrent_claims_leave_exactly_one_holder(db: Database, case_id: int) -> None:
    workers = [staff(db, f"racer{n}@relais.test", f"Racer {n}") for n in range(RACERS)]
    start = threading.Barrier(RACERS)
    won: list[Staff] = []
    lost: list[str] = []
    errors: list[BaseException] = []

    def attempt(worker: Staff) -> None:
        start.wait()
        try:
            with db.write() as session:
                cases.claim(session, case_id, worker, clock.now())
            won.append(worker)
        except cases.AlreadyHeld as held:
            lost.append(held.holder_name)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(won) == 1
    # Every loser was told the winner's name.
    assert lost == [won[0].name] * (RACERS - 1)
    with db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.assignee_id == won[0].id
        claims = session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "claimed")
        )
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == audit.CASE_CLAIM)
        )
    assert (claims, audited) == (1, 1)
