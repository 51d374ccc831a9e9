"""remember which shipped default policy rules were applied, so new ones reach old databases

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_shipped",
        sa.Column("rule", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("rule", name=op.f("pk_policy_shipped")),
    )
    # every rule in force now came from a shipped default or from a secadmin;
    # marking them all as applied means no rule a secadmin removed comes back
    op.execute(
        "INSERT INTO policy_shipped (rule) SELECT DISTINCT "
        "ptype || ',' || v0 || ',' || v1 || ',' || v2 || ',' || v3 || ',' || v4 || ',' || v5 "
        "FROM policy_rules"
    )


def downgrade() -> None:
    op.drop_table("policy_shipped")
