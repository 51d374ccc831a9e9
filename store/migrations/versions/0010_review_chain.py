"""review chain as 57号 writes it: refusal reasons and decision date, correction (补正),
withdrawal, objections that are decided, county visits for relatives of staff,
termination proposals, gradual exit (渐退期); the seed's NOTICE steps renamed

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("decided_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("closing_reasons", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("termination_proposal", sa.String(length=30), nullable=True))
        batch.add_column(sa.Column("gradual_exit_until", sa.Date(), nullable=True))
        batch.add_column(sa.Column("missing_materials", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("county_visit_on", sa.Date(), nullable=True))
    with op.batch_alter_table("members") as batch:
        batch.add_column(
            sa.Column("staff_relative", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("objections") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=10), nullable=False, server_default="OPEN")
        )
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("resolved_at", UtcDateTime(timezone=True), nullable=True))
    # objections of cases already past their notice were only recorded, never decided:
    # they stay visible as RECORDED; those of cases still in NOTICE now block approval
    op.execute(
        "UPDATE objections SET status = 'RECORDED' WHERE archive_no NOT IN "
        "(SELECT archive_no FROM households WHERE status = 'NOTICE')"
    )
    # one name per step: the seed wrote the notice step as NOTICE
    op.execute("UPDATE reviews SET step = 'PUBLISH_NOTICE' WHERE step = 'NOTICE'")


def downgrade() -> None:
    op.execute("UPDATE reviews SET step = 'NOTICE' WHERE step = 'PUBLISH_NOTICE'")
    with op.batch_alter_table("objections") as batch:
        batch.drop_column("resolved_at")
        batch.drop_column("resolved_by")
        batch.drop_column("resolution")
        batch.drop_column("status")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("staff_relative")
    with op.batch_alter_table("households") as batch:
        batch.drop_column("county_visit_on")
        batch.drop_column("missing_materials")
        batch.drop_column("gradual_exit_until")
        batch.drop_column("termination_proposal")
        batch.drop_column("closing_reasons")
        batch.drop_column("decided_on")
