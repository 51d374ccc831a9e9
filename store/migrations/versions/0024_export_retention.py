"""export files kept for a while (issue 20, DIBAO_EXPORT_KEEP_DAYS): `exports.purged_at`
says when a file past its keeping time was deleted; the register's row stays

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exports") as batch:
        batch.add_column(sa.Column("purged_at", store.types.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exports") as batch:
        batch.drop_column("purged_at")
