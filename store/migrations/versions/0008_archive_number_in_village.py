"""an archive number begins with its household's village code: enforced, so scope
predicates on the archive number (the primary key, in page order) are exact

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

RULE = "substr(archive_no, 1, 12) = village_code"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE households ADD CONSTRAINT ck_households_archive_in_village CHECK ({RULE})"
        )
        return
    # SQLite cannot add a CHECK without rebuilding the table (and its foreign keys):
    # triggers enforce the same rule on every insert and update
    for event in ("INSERT", "UPDATE OF archive_no, village_code"):
        name = "insert" if event == "INSERT" else "update"
        op.execute(
            f"CREATE TRIGGER households_archive_in_village_{name} BEFORE {event} ON households "
            f"WHEN NOT (substr(NEW.archive_no, 1, 12) = NEW.village_code) BEGIN "
            f"SELECT RAISE(ABORT, 'archive number must begin with the village code'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE households DROP CONSTRAINT ck_households_archive_in_village")
        return
    for name in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS households_archive_in_village_{name}")
