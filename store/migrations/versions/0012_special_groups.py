"""special groups and the edge of the line (民发〔2021〕57号): the kind of a member's
disability, single-person cover (单人保), the low-income edge-family flag (低保边缘家庭)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.policy import rule_key, rule_rows

# No policy rule is new: the new fields are decided by the rules that already name
# their types (`Household.*`, `Member.*` for case staff and supervisors), so the kind
# of a disability is read exactly where its grade is, and is denied to finance
# officers, partners and the three administrators as the grade is; the `marginal`
# filter is decided as `Household.marginal` (policies/arguments.py). Kept as the
# pattern of 0011 so that a rule added later is frozen here with its fields.
RULES: tuple[str, ...] = ()

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN, not a batch: on SQLite a batch rebuilds the table, and the
    # rebuilt households table would lose the triggers that keep an archive number
    # inside its village (0008)
    op.add_column("members", sa.Column("disability_kind", sa.String(length=12), nullable=True))
    op.add_column(
        "members", sa.Column("covered", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "households",
        sa.Column("single_person_cover", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "households",
        sa.Column("marginal", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_households_marginal",
        "households",
        ["archive_no"],
        postgresql_where=sa.text("marginal"),
        sqlite_where=sa.text("marginal = 1"),
    )
    _ship_rules()


def _rules() -> list[tuple[str, ...]]:
    return [tuple(part.strip() for part in rule.split(",")) for rule in RULES]


def _ship_rules() -> None:
    """Add the rules a database does not hold yet, and remember them as shipped."""
    bind = op.get_bind()
    shipped = sa.table("policy_shipped", sa.column("rule", sa.String))
    rules = sa.table(
        "policy_rules",
        sa.column("ptype", sa.String),
        *(sa.column(f"v{i}", sa.String) for i in range(6)),
    )
    seen = set(bind.execute(sa.select(shipped.c.rule)).scalars())
    fresh = [rule for rule in _rules() if rule_key(rule) not in seen]
    if fresh:
        op.bulk_insert(shipped, [{"rule": rule_key(rule)} for rule in fresh])
        op.bulk_insert(rules, rule_rows(fresh))


def downgrade() -> None:
    keys = [rule_key(rule) for rule in _rules()]
    shipped = sa.table("policy_shipped", sa.column("rule", sa.String))
    op.execute(sa.delete(shipped).where(shipped.c.rule.in_(keys)))
    rules = sa.table(
        "policy_rules",
        sa.column("ptype", sa.String),
        sa.column("v0", sa.String),
        sa.column("v2", sa.String),
    )
    for rule in _rules():
        op.execute(
            sa.delete(rules).where(
                rules.c.ptype == rule[0], rules.c.v0 == rule[1], rules.c.v2 == rule[3]
            )
        )
    op.drop_index("ix_households_marginal", table_name="households")
    # ALTER TABLE DROP COLUMN (SQLite 3.35 and later): no rebuild, the triggers stay
    op.drop_column("households", "marginal")
    op.drop_column("households", "single_person_cover")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("covered")
        batch.drop_column("disability_kind")
