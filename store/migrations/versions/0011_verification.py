"""verification: requests to partner departments, their subjects and encrypted
findings, and the department a partner credential answers for

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store.policy import rule_key, rule_rows

# The shipped policy rules of this release, frozen beside the migration that makes
# their fields (as 0002 froze the first policy): a fresh database gets them here
# with the tables, not as a later policy change that would bump the policy version
# (and make an unused installation look as if it had served, audit/chain.py).
RULES = (
    "p, caseworker, *, Mutation.requestVerification, write, allow",
    "p, county_reviewer, *, Mutation.requestVerification, write, allow",
    "p, county_reviewer, *, Mutation.overrideVerification, write, allow",
    "p, case_staff, *, HouseholdVerification.*, read, allow",
    "p, case_staff, *, VerificationFinding.*, read, allow",
    "p, case_staff, *, VerificationDiscrepancy.*, read, allow",
    "p, supervisor, *, Household.verifications, read, deny",
    "p, partner, *, Query.verificationRequests, default, allow",
    "p, partner, *, Query.verificationRequests, read, allow",
    "p, partner, *, VerificationRequestConnection.*, read, allow",
    "p, partner, *, VerificationRequestEdge.*, read, allow",
    "p, partner, *, VerificationRequest.*, default, allow",
    "p, partner, *, VerificationRequest.*, read, allow",
    "p, partner, *, VerificationSubject.*, default, allow",
    "p, partner, *, VerificationSubject.*, read, allow",
    "p, partner, *, Mutation.answerVerification, default, allow",
    "p, partner, *, Mutation.answerVerification, write, allow",
    "p, partner, *, Mutation.answerVerifications, default, allow",
    "p, partner, *, Mutation.answerVerifications, write, allow",
)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("department", sa.String(length=20), nullable=True))
    op.create_table(
        "verification_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("archive_no", sa.String(length=24), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("consent_document", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.Column("answered_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by", sa.String(length=100), nullable=True),
        sa.Column("override_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["archive_no"], ["households.archive_no"],
            name=op.f("fk_verification_requests_archive_no_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_requests")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_verification_requests_archive_no"), "verification_requests", ["archive_no"]
    )
    op.create_index(
        "ix_verification_requests_department_status",
        "verification_requests",
        ["department", "status", "id"],
    )
    op.create_table(
        "verification_subjects",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("findings_enc", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["verification_requests.id"],
            name=op.f("fk_verification_subjects_request_id_verification_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"],
            name=op.f("fk_verification_subjects_member_id_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_subjects")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_verification_subjects_request_id"), "verification_subjects", ["request_id"]
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
    rules = sa.table("policy_rules", sa.column("ptype", sa.String), sa.column("v2", sa.String))
    fields = sorted({rule[3] for rule in _rules()})
    op.execute(sa.delete(rules).where(rules.c.ptype == "p", rules.c.v2.in_(fields)))
    op.drop_table("verification_subjects")
    op.drop_table("verification_requests")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("department")
