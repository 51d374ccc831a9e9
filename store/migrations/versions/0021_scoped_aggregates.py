"""indexes that serve the scoped counts and sums (issue 22): a scope is a range of
archive numbers, and each index leads with the archive number (the period first for
payments, which `statistics` reads one month of), carrying the columns the count or
sum reads, so `statistics` and `totalCount` read index entries of the scope alone

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# name, table, columns: the same in store/models.py
INDEXES = (
    ("ix_households_scope_counts", "households", ["archive_no", "status", "area"]),
    (
        "ix_members_scope_categories",
        "members",
        ["archive_no", "active", "birth_date", "disability_grade", "serious_illness"],
    ),
    ("ix_payments_period_scope", "payments", ["period", "archive_no", "status", "amount"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
