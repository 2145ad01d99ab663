"""revocable sessions, passwords to change, login locks per account and address

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 11:40:00.000000

`users.session_version` is kept in each session cookie: raising it ends the account's
sessions. `users.must_change_password` marks a password a supervisor chose. The lock
moves from the account (`users.failed_logins`, `users.locked_until`, which anyone could
trip) to the account *and* the client address (`login_failures`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_failures_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "client", name=op.f("pk_login_failures")),
    )
    op.create_index(
        op.f("ix_login_failures_last_failure_at"), "login_failures", ["last_failure_at"]
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "must_change_password",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")
    # The defaults were only for the rows already there; the application sets both.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("session_version", server_default=None)
        batch_op.alter_column("must_change_password", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("locked_until", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("session_version")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("failed_logins", server_default=None)
    op.drop_index(op.f("ix_login_failures_last_failure_at"), table_name="login_failures")
    op.drop_table("login_failures")
