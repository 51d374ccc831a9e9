"""append-only, hash-chained audit log; trusted documents; credential bindings

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

AUDIT_TABLES = ("audit_entries", "audit_archives")

PG_FUNCTION = """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("documents", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("cert_fingerprint", sa.String(length=64), nullable=True))
    op.create_table(
        "trusted_documents",
        sa.Column("id", sa.String(length=71), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_documents")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    op.create_index(op.f("ix_audit_entries_time"), "audit_entries", ["time"])
    op.create_index(op.f("ix_audit_entries_principal"), "audit_entries", ["principal"])
    op.create_index(op.f("ix_audit_entries_outcome"), "audit_entries", ["outcome"])
    op.create_table(
        "audit_archives",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("archive_no", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("seq", "archive_no", name=op.f("pk_audit_archives")),
    )
    op.create_index(op.f("ix_audit_archives_archive_no"), "audit_archives", ["archive_no"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash, signature) VALUES (1, 0, '" + "0" * 64 + "', '')"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in AUDIT_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
            )
    else:
        for table in AUDIT_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in AUDIT_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    op.drop_table("audit_head")
    op.drop_table("audit_archives")
    op.drop_table("audit_entries")
    op.drop_table("trusted_documents")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("cert_fingerprint")
        batch.drop_column("documents")
