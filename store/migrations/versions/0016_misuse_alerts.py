"""misuse alerts over the audit log: thresholds as data, alerts with their evidence
and acknowledgement, the scan's position, and the client addresses per credential

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import store.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_thresholds",
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule", "role", name=op.f("pk_alert_thresholds")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("window_start", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("raised_at", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("acknowledged_at", store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("rule", "principal", "window_start", name="uq_alerts_rule_window"),
    )
    op.create_index("ix_alerts_status_raised", "alerts", ["status", "raised_at"])
    op.create_table(
        "alert_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_scan")),
    )
    # the rules start from the entries written after this release: replaying years of
    # history would bury today's alerts under old ones
    op.execute(
        "INSERT INTO alert_scan (id, last_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_entries"
    )
    op.create_table(
        "credential_clients",
        sa.Column("credential_id", sa.String(length=16), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("first_seen", store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("credential_id", "client", name=op.f("pk_credential_clients")),
    )


def downgrade() -> None:
    op.drop_table("credential_clients")
    op.drop_table("alert_scan")
    op.drop_index("ix_alerts_status_raised", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("alert_thresholds")
