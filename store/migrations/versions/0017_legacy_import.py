"""legacy import (issue 16): a household brought in from a legacy register keeps its
old archive number (原档案编号), unique within its county, so a second run of the same
file finds it and imports nothing twice.

No policy rule is new: `Household.legacyArchiveNo` falls under the `Household.*` rules
of case staff and supervisors, and the `households(legacyArchiveNo:)` filter is decided
as that field (policies/arguments.py), so finance officers, partners and the three
administrators may neither read nor filter by it. Kept as the pattern of 0011.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

RULES: tuple[str, ...] = ()

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEX = "uq_households_legacy_archive_no_county"


def upgrade() -> None:
    # plain ADD COLUMN and CREATE INDEX, not a batch: on SQLite a batch rebuilds the
    # table, and the rebuilt households table would lose the triggers of 0008
    op.add_column("households", sa.Column("legacy_archive_no", sa.String(40), nullable=True))
    # the county is the first six digits of the village: an expression, so no column
    # has to be kept in step with village_code; the legacy number leads, so the
    # `households(legacyArchiveNo:)` filter reads the same index
    op.create_index(
        INDEX,
        "households",
        ["legacy_archive_no", sa.text("substr(village_code, 1, 6)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="households")
    # ALTER TABLE DROP COLUMN (SQLite 3.35 and later): no rebuild, the triggers stay
    op.drop_column("households", "legacy_archive_no")
