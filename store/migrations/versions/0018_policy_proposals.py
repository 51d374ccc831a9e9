"""policy proposals: a policy change that widens access waits for a second secadmin
(four eyes), with what it widens as judged when proposed

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store.policy import rule_key, rule_rows

# The shipped rules of this release, frozen beside the table they serve (as 0011 does):
# secadmins propose and decide, auditors read what was proposed and decided.
RULES = (
    "p, secadmin, *, Query.policyProposals, read, allow",
    "p, secadmin, *, PolicyProposal.*, read, allow",
    "p, secadmin, *, PolicyWidening.*, read, allow",
    "p, secadmin, *, Mutation.approvePolicyChange, write, allow",
    "p, secadmin, *, Mutation.rejectPolicyChange, write, allow",
    "p, secadmin, *, Mutation.withdrawPolicyChange, write, allow",
    "p, auditor, *, Query.policyProposals, read, allow",
    "p, auditor, *, PolicyProposal.*, read, allow",
    "p, auditor, *, PolicyWidening.*, read, allow",
    "p, auditor, *, PolicyRule.*, read, allow",
)

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_proposals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("proposer", sa.String(length=100), nullable=False),
        sa.Column("proposed_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("widened", sa.JSON(), nullable=False),
        sa.Column("widened_count", sa.Integer(), nullable=False),
        sa.Column("widened_digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_proposals")),
    )
    op.create_index("ix_policy_proposals_status", "policy_proposals", ["status", "proposed_at"])
    _ship_rules()


def downgrade() -> None:
    shipped, rules = _tables()
    for rule in _rules():
        padded = [*rule[1:], "", "", "", "", "", ""][:6]
        op.execute(
            sa.delete(rules).where(
                rules.c.ptype == rule[0],
                *(rules.c[f"v{i}"] == value for i, value in enumerate(padded)),
            )
        )
    op.execute(sa.delete(shipped).where(shipped.c.rule.in_([rule_key(r) for r in _rules()])))
    op.drop_index("ix_policy_proposals_status", table_name="policy_proposals")
    op.drop_table("policy_proposals")


def _rules() -> list[tuple[str, ...]]:
    return [tuple(part.strip() for part in rule.split(",")) for rule in RULES]


def _tables() -> tuple[sa.TableClause, sa.TableClause]:
    shipped = sa.table("policy_shipped", sa.column("rule", sa.String))
    rules = sa.table(
        "policy_rules",
        sa.column("ptype", sa.String),
        *(sa.column(f"v{i}", sa.String) for i in range(6)),
    )
    return shipped, rules


def _ship_rules() -> None:
    """Add the rules a database does not hold yet, and remember them as shipped."""
    shipped, rules = _tables()
    seen = set(op.get_bind().execute(sa.select(shipped.c.rule)).scalars())
    fresh = [rule for rule in _rules() if rule_key(rule) not in seen]
    if fresh:
        op.bulk_insert(shipped, [{"rule": rule_key(rule)} for rule in fresh])
        op.bulk_insert(rules, rule_rows(fresh))
