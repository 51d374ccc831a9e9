"""exports (issue 20): the register of files taken out of the archive (payment rolls,
public lists, statistical returns), each sealed with its SHA-256, and the rules that
let finance officers, case staff and supervisors run them and security officers list
them; county spot checks (抽查) of township reviews, with their seeds

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types
from store.policy import rule_key, rule_rows

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

RULES = (
    "p, finance_officer, *, Mutation.requestExport, write, allow",
    "p, finance_officer, *, ExportTicket.*, read, allow",
    "p, finance_officer, *, Export.paymentRoll, write, allow",
    "p, finance_officer, *, PaymentRoll.name, read, allow",
    "p, finance_officer, *, PaymentRoll.idNumber, read, allow",
    "p, finance_officer, *, PaymentRoll.bankAccount, read, allow",
    "p, finance_officer, *, Mutation.importBankReturn, write, allow",
    "p, finance_officer, *, BankReturnResult.*, read, allow",
    "p, finance_officer, *, BankReturnProblem.*, read, allow",
    "p, case_staff, *, Mutation.requestExport, write, allow",
    "p, case_staff, *, ExportTicket.*, read, allow",
    "p, case_staff, *, Export.publicList, write, allow",
    "p, county_reviewer, *, Export.statisticalReturn, write, allow",
    "p, supervisor, *, Mutation.requestExport, write, allow",
    "p, supervisor, *, ExportTicket.*, read, allow",
    "p, supervisor, *, Export.statisticalReturn, write, allow",
    "p, county_reviewer, *, Export.staffAssessment, write, allow",
    "p, supervisor, *, Export.staffAssessment, write, allow",
    "p, county_reviewer, *, Mutation.drawSpotCheck, write, allow",
    "p, county_reviewer, *, SpotCheck.*, read, allow",
    "p, auditor, *, Query.exports, read, allow",
    "p, auditor, *, ExportRecord.*, read, allow",
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
    op.create_table(
        "exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("format", sa.String(length=5), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("scope", sa.String(length=12), nullable=False),
        sa.Column("credential_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", store.types.UtcDateTime(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("total_amount", store.types.Money(precision=14, scale=2), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_enc", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_created_at", "exports", ["created_at"])
    op.create_table(
        "spot_checks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("share", sa.String(length=6), nullable=False),
        sa.Column("seed", sa.String(length=20), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("drawn_by", sa.String(length=100), nullable=False),
        sa.Column("drawn_at", store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spot_checks")),
        sa.UniqueConstraint("county_code", "period", name="uq_spot_checks_county"),
    )
    op.create_table(
        "spot_check_cases",
        sa.Column("spot_check_id", sa.String(length=32), nullable=False),
        sa.Column("archive_no", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["spot_check_id"],
            ["spot_checks.id"],
            name=op.f("fk_spot_check_cases_spot_check_id_spot_checks"),
        ),
        sa.ForeignKeyConstraint(
            ["archive_no"],
            ["households.archive_no"],
            name=op.f("fk_spot_check_cases_archive_no_households"),
        ),
        sa.PrimaryKeyConstraint("spot_check_id", "archive_no", name=op.f("pk_spot_check_cases")),
    )
    op.create_index(op.f("ix_spot_check_cases_archive_no"), "spot_check_cases", ["archive_no"])
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
    op.drop_index(op.f("ix_spot_check_cases_archive_no"), table_name="spot_check_cases")
    op.drop_table("spot_check_cases")
    op.drop_table("spot_checks")
    op.drop_index("ix_exports_created_at", table_name="exports")
    op.drop_table("exports")
