"""export files sealed in pieces (issue 20): `export_chunks` holds each piece with its
own tag, so a payment roll is written, hashed, sealed and served in bounded memory;
`exports.chunks` counts them. A file written under 0022 alone stays one blob in
`exports.content_enc` (now nullable) with `chunks` NULL, and is still served.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_chunks",
        sa.Column("export_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_enc", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"], ["exports.id"], name=op.f("fk_export_chunks_export_id_exports")
        ),
        sa.PrimaryKeyConstraint("export_id", "seq", name=op.f("pk_export_chunks")),
    )
    with op.batch_alter_table("exports") as batch:
        batch.add_column(sa.Column("chunks", sa.Integer(), nullable=True))
        batch.alter_column("content_enc", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # a file sealed in pieces has no blob to go back to: downgrading drops those files
    # (their register rows, SHA-256 and audit entries stay)
    op.execute(sa.text("DELETE FROM export_chunks"))
    exports = sa.table("exports", sa.column("content_enc", sa.LargeBinary))
    op.execute(sa.update(exports).where(exports.c.content_enc.is_(None)).values(content_enc=b""))
    with op.batch_alter_table("exports") as batch:
        batch.alter_column("content_enc", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("chunks")
    op.drop_table("export_chunks")
