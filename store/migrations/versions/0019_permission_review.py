"""permission review (权限审查, issue 17): each audit entry's credential id as a column
with an index by credential and time, the history of policy changes (who added or
removed which rule, when), the security officers' recorded reviews, and the rules
that let auditors and secadmins read them

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store.policy import rule_key, rule_rows

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# both security officers read who holds what and how it is used; the auditor alone
# signs a review off: the secadmin's own policy changes are part of what is reviewed
_READ_TYPES = (
    "CredentialInfo.*",
    "PermissionReviewLists.*",
    "BroaderScope.*",
    "PolicyDifference.*",
    "PolicyRule.*",
    "PermissionReview.*",
    "PermissionReviewConnection.*",
    "PermissionReviewEdge.*",
    "PermissionReviewDue.*",
    "PageInfo.*",
)
_ROOTS = ("credentials", "permissionReview", "permissionReviews", "permissionReviewDue")
# shipped before: the secadmin's PolicyRule.* (0002) and the auditor's PageInfo.* (0002)
_HELD = ("p, secadmin, *, PolicyRule.*, read, allow", "p, auditor, *, PageInfo.*, read, allow")
_READS = tuple(
    rule
    for role in ("auditor", "secadmin")
    for rule in (
        *(f"p, {role}, *, Query.{root}, read, allow" for root in _ROOTS),
        *(f"p, {role}, *, {type_}, read, allow" for type_ in _READ_TYPES),
    )
    if rule not in _HELD
)
RULES = (*_READS, "p, auditor, *, Mutation.recordPermissionReview, write, allow")

# the audit log refuses UPDATE by trigger; the migration, run by the database owner,
# lifts it for the one statement that copies each entry's credential id into its column
_PG_BACKFILL = (
    "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only",
    "UPDATE audit_entries SET credential_id = (entry::json ->> 'credential_id') "
    "WHERE credential_id IS NULL",
    "ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only",
)
_SQLITE_BACKFILL = (
    "DROP TRIGGER IF EXISTS audit_entries_no_update",
    "UPDATE audit_entries SET credential_id = json_extract(entry, '$.credential_id') "
    "WHERE credential_id IS NULL",
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)


def _parsed(rules: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [tuple(part.strip() for part in rule.split(",")) for rule in rules]


def _tables() -> tuple[sa.TableClause, sa.TableClause]:
    shipped = sa.table("policy_shipped", sa.column("rule", sa.String))
    rules = sa.table(
        "policy_rules",
        sa.column("ptype", sa.String),
        *(sa.column(f"v{i}", sa.String) for i in range(6)),
    )
    return shipped, rules


def upgrade() -> None:
    # a plain ADD COLUMN (no batch copy): recreating the table would drop its triggers
    op.add_column("audit_entries", sa.Column("credential_id", sa.String(16), nullable=True))
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _PG_BACKFILL if postgres else _SQLITE_BACKFILL:
        op.execute(statement)
    op.create_index("ix_audit_entries_credential_time", "audit_entries", ["credential_id", "time"])
    op.create_table(
        "policy_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", store.types.UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_history")),
    )
    op.create_index(op.f("ix_policy_history_rule"), "policy_history", ["rule"])
    op.create_table(
        "permission_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", store.types.UtcDateTime(), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_reviews")),
    )
    op.create_index(op.f("ix_permission_reviews_at"), "permission_reviews", ["at"])
    shipped, rules = _tables()
    seen = set(op.get_bind().execute(sa.select(shipped.c.rule)).scalars())
    new = [rule for rule in _parsed(RULES) if rule_key(rule) not in seen]
    if new:
        op.bulk_insert(shipped, [{"rule": rule_key(rule)} for rule in new])
        op.bulk_insert(rules, rule_rows(new))


def downgrade() -> None:
    shipped, rules = _tables()
    for rule in _parsed(RULES):
        padded = [*rule[1:], "", "", "", "", "", ""][:6]
        op.execute(
            sa.delete(rules).where(
                rules.c.ptype == rule[0],
                *(rules.c[f"v{i}"] == value for i, value in enumerate(padded)),
            )
        )
    op.execute(sa.delete(shipped).where(shipped.c.rule.in_([rule_key(r) for r in _parsed(RULES)])))
    op.drop_index(op.f("ix_permission_reviews_at"), table_name="permission_reviews")
    op.drop_table("permission_reviews")
    op.drop_index(op.f("ix_policy_history_rule"), table_name="policy_history")
    op.drop_table("policy_history")
    op.drop_index("ix_audit_entries_credential_time", table_name="audit_entries")
    op.drop_column("audit_entries", "credential_id")
