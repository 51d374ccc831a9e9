"""audit retention: deletions only outside the retention window, with a signed chain base

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keep_days integer;
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_entries' THEN
        SELECT days INTO keep_days FROM audit_retention WHERE id = 1;
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
    op.create_table(
        "audit_retention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_retention")),
        # the Cybersecurity Law (art. 21) requires network logs be kept at least six months
        sa.CheckConstraint("days >= 183", name=op.f("ck_audit_retention_six_months")),
    )
    op.execute("INSERT INTO audit_retention (id, days) VALUES (1, 183)")
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("base_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("base_hash", sa.String(64), nullable=False, server_default="0" * 64)
        )
        batch.add_column(
            sa.Column("base_signature", sa.String(64), nullable=False, server_default="")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        return
    op.execute("DROP TRIGGER audit_entries_no_delete")
    op.execute(
        "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
        "WHEN OLD.time >= datetime('now', '-' || (SELECT days FROM audit_retention WHERE id = 1) "
        "|| ' days') BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    op.execute("DROP TRIGGER audit_archives_no_delete")
    op.execute(
        "CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives "
        "WHEN EXISTS (SELECT 1 FROM audit_entries WHERE seq = OLD.seq) "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )


def downgrade() -> None:
    raise NotImplementedError("the retention window is not removed once it protects entries")
