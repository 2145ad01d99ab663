"""Relais storage: SQLAlchemy models, sessions and Alembic migrations."""
