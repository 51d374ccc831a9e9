"""audit entries carry the caller's role as an indexed column; verification runs are recorded

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN on both backends: no row is rewritten, so the
    # append-only triggers are neither fired nor dropped
    op.add_column("audit_entries", sa.Column("role", sa.String(length=30), nullable=True))
    op.create_index(op.f("ix_audit_entries_role"), "audit_entries", ["role"])
    op.create_table(
        "audit_verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("first_bad", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("verified_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verifications")),
    )


def downgrade() -> None:
    op.drop_table("audit_verifications")
    op.drop_index(op.f("ix_audit_entries_role"), table_name="audit_entries")
    op.drop_column("audit_entries", "role")
