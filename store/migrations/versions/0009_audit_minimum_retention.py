"""audit retention: the legal minimum holds whatever the retention table says, and a
purge checkpoint records (signed) when its last entry was written and when it was purged

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# 183: audit.chain.MIN_RETENTION_DAYS; a migration keeps its own copy, as a literal
PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep_days integer;
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_entries' THEN
        SELECT days INTO keep_days FROM audit_retention WHERE id = 1;
        -- the table is the owner's to edit: never trust it below the legal minimum
        keep_days := greatest(coalesce(keep_days, 183), 183);
        IF OLD.time < now() - make_interval(days => keep_days) THEN
            RETURN OLD;
        END IF;
    ELSIF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_archives' THEN
        IF NOT EXISTS (SELECT 1 FROM audit_entries WHERE seq = OLD.seq) THEN
            RETURN OLD;  -- the index row of an entry already purged
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("base_time", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("purged_at", UtcDateTime(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        return
    op.execute("DROP TRIGGER audit_entries_no_delete")
    op.execute(
        "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
        "WHEN OLD.time >= datetime('now', '-' || max(coalesce((SELECT days FROM "
        "audit_retention WHERE id = 1), 183), 183) || ' days') "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )


def downgrade() -> None:
    raise NotImplementedError("the retention minimum is not removed once it protects entries")
