"""documents: an index by uploader and time, for the daily allowance each principal may
file (DIBAO_DOCUMENT_DAILY_MB), checked at every upload

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_uploaded_by_at", "documents", ["uploaded_by", "uploaded_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_uploaded_by_at", table_name="documents")
