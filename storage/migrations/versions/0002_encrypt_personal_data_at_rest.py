"""encrypt personal data at rest

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:28:12.849104

Columns holding what people say become text sealed by storage.types (EncryptedText,
EncryptedJSON). Existing values are marked `plain:` here; `relais keys reencrypt` seals
them once RELAIS_ENCRYPTION_KEYS is set. Plain SQLAlchemy types are used below so this
file keeps working whatever becomes of the application's types.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PLAIN = "plain:"
# (table, column, was JSON, nullable)
COLUMNS = (
    ("contacts", "display_name", False, True),
    ("contacts", "fields", True, False),
    ("conversations", "state", True, False),
    ("messages", "text", False, True),
    ("cases", "summary", False, True),
    ("case_events", "body", False, True),
    ("checkins", "answers", True, True),
)


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.alter_column(
            "display_name",
            existing_type=sa.String(length=100),
            type_=sa.Text(),
            existing_nullable=True,
        )
    for table, column, was_json, nullable in COLUMNS:
        if was_json:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.alter_column(
                    column,
                    existing_type=sa.JSON(),
                    type_=sa.Text(),
                    existing_nullable=nullable,
                    postgresql_using=f"{column}::text",
                )
        # Mark what is there as written without a key, so nothing is ever guessed.
        op.execute(
            sa.text(
                f"UPDATE {table} SET {column} = :plain || {column} WHERE {column} IS NOT NULL"
            ).bindparams(plain=PLAIN)
        )


def downgrade() -> None:
    bind = op.get_bind()
    for table, column, _was_json, _nullable in COLUMNS:
        sealed = bind.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE {column} LIKE 'enc:%'")
        ).scalar()
        if sealed:
            raise RuntimeError(
                f"{table}.{column} holds encrypted values; the previous schema cannot read "
                "them. Restore a backup taken before 0002 instead."
            )
    for table, column, was_json, nullable in COLUMNS:
        op.execute(
            sa.text(
                f"UPDATE {table} SET {column} = substr({column}, :start) "
                f"WHERE {column} LIKE 'plain:%'"
            ).bindparams(start=len(PLAIN) + 1)
        )
        if was_json:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.alter_column(
                    column,
                    existing_type=sa.Text(),
                    type_=sa.JSON(none_as_null=True),
                    existing_nullable=nullable,
                    postgresql_using=f"{column}::json",
                )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.alter_column(
            "display_name",
            existing_type=sa.Text(),
            type_=sa.String(length=100),
            existing_nullable=True,
        )
