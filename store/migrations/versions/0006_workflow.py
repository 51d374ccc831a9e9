"""workflow: notice and review dates, benefit history, objections, payment batches

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("notice_ends_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_review_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("review_flag", sa.String(length=200), nullable=True))
        batch.create_index("ix_households_next_review_on", ["next_review_on"])
    op.create_table(
        "benefit_history",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("archive_no", sa.String(length=24), nullable=False),
        sa.Column("amount", store.types.Money(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["archive_no"], ["households.archive_no"],
            name=op.f("fk_benefit_history_archive_no_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_history")),
    )  # fmt: skip
    op.create_index(
        "ix_benefit_history_archive_from", "benefit_history", ["archive_no", "effective_from"]
    )
    op.create_table(
        "objections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("archive_no", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["archive_no"],
            ["households.archive_no"],
            name=op.f("fk_objections_archive_no_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    op.create_index(op.f("ix_objections_archive_no"), "objections", ["archive_no"])
    op.create_table(
        "payment_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_batches")),
    )
    op.create_index(
        "ix_payment_batches_county_period", "payment_batches", ["county_code", "period"]
    )
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("batch_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("failure_reason", sa.String(length=200), nullable=True))
        batch.create_index("ix_payments_batch_id", ["batch_id"])


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_batch_id")
        batch.drop_column("failure_reason")
        batch.drop_column("attempts")
        batch.drop_column("batch_id")
    op.drop_table("payment_batches")
    op.drop_table("objections")
    op.drop_table("benefit_history")
    with op.batch_alter_table("households") as batch:
        batch.drop_index("ix_households_next_review_on")
        batch.drop_column("review_flag")
        batch.drop_column("next_review_on")
        batch.drop_column("notice_ends_on")
