"""Fixtures of the case tests: a worker, a second worker, a supervisor, Mariam and her case."""

from __future__ import annotations

import pytest

from storage.db import Database
from storage.models import Role
from tests.cases.builders import Staff, open_case, person, staff


@pytest.fixture
def wassim(db: Database) -> Staff:
    """A social worker."""
    return staff(db, "wassim@relais.test", "Wassim")


@pytest.fixture
def lea(db: Database) -> Staff:
    """Another social worker."""
    return staff(db, "lea@relais.test", "Léa")


@pytest.fixture
def salome(db: Database) -> Staff:
    """A supervisor."""
    return staff(db, "salome@relais.test", "Salomé", Role.SUPERVISOR)


@pytest.fixture
def mariam(db: Database) -> int:
    """A French-speaking person on Telegram."""
    return person(db)


@pytest.fixture
def case_id(db: Database, mariam: int) -> int:
    """Mariam asked to talk to someone."""
    return open_case(db, mariam)
