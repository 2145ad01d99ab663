"""a data key per person (envelope encryption)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 11:50:00.000000

`person_keys` holds one Fernet key per person, sealed by the master keys; a contact
points to theirs. Values already stored stay sealed with the master keys (`enc:v1:`)
until `relais keys reencrypt` moves them under each person's key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "person_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_keys")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_contacts_key_id"), ["key_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_contacts_key_id_person_keys"),
            "person_keys",
            ["key_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contacts_key_id_person_keys"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_contacts_key_id"))
        batch_op.drop_column("key_id")
    op.drop_table("person_keys")
