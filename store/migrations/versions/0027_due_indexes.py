"""indexes that serve `dueForReview` (issue 22): its page is the scope's active
households in review-date order, its count all of them; led by the status, one index
walks the review dates (the scope's range filtered inside the index, stopping after a
page) and one the scope's range (the count reads index entries alone)

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# name, columns: the same in store/models.py
INDEXES = (
    ("ix_households_due_order", ["status", "next_review_on", "archive_no"]),
    ("ix_households_due_scope", ["status", "archive_no", "next_review_on"]),
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "households", columns)


def downgrade() -> None:
    for name, _columns in INDEXES:
        op.drop_index(name, table_name="households")
