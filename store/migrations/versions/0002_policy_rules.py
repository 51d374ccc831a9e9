"""policy rules stored in the database, seeded with the shipped default policy

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import store.types
from store.policy import rule_rows

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The default policy as this migration seeds it, frozen beside it: a migration that
# read today's policies/default_policy.csv would change its meaning with every
# release. Rules shipped later reach a database through `upgrade(shipped_rules=...)`.
SEEDED = Path(__file__).with_suffix(".csv")


def seeded_rules() -> list[tuple[str, ...]]:
    rules = []
    for raw in SEEDED.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rules.append(tuple(part.strip() for part in line.split(",")))
    return rules


def upgrade() -> None:
    rules = op.create_table(
        "policy_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ptype", sa.String(length=4), nullable=False),
        sa.Column("v0", sa.String(length=100), nullable=False),
        sa.Column("v1", sa.String(length=100), nullable=False),
        sa.Column("v2", sa.String(length=100), nullable=False),
        sa.Column("v3", sa.String(length=100), nullable=False),
        sa.Column("v4", sa.String(length=100), nullable=False),
        sa.Column("v5", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rules")),
    )
    state = op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_state")),
    )
    op.bulk_insert(rules, rule_rows(seeded_rules()))
    op.bulk_insert(
        state,
        [{"id": 1, "version": 1, "updated_at": dt.datetime.now(dt.UTC), "updated_by": "migration"}],
    )


def downgrade() -> None:
    op.drop_table("policy_state")
    op.drop_table("policy_rules")
