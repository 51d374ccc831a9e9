"""every text column compared byte by byte (`COLLATE "C"`) on PostgreSQL (issue 22)

The archive's keys are ASCII: hex ids, statistical codes, archive numbers, periods,
enum names. Under the database's default collation (`C.UTF-8` or a language's)
PostgreSQL compares them through the C library's locale rules and cannot use
abbreviated keys when it sorts them, so every key and index over them costs about
twice its build time at national size (the seed rebuilds them all after its load).
Byte order is the order these columns already had: for ASCII, and for the UTF-8 of
the few human-written columns (names of regions and actors), `C.UTF-8` orders by code
point, which is the order of the bytes. No answer's order changes; where a database
was created under a language's collation, only the order of human-written text within
a sort would, and no read sorts by it.

Every text column, not only the keyed ones: two columns compared in a join must have
one collation, or PostgreSQL refuses the comparison, so a key column in `C` beside a
column it is joined to in the default would break the join. A test holds every text
column of the migrated schema to `C` (tests/store/test_collation.py), so a later
migration cannot add a column in the default unnoticed.

SQLite compares text with BINARY, byte order, already: nothing to do there.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_TEXT_COLUMNS = sa.text(
    "SELECT t.relname, a.attname, format_type(a.atttypid, a.atttypmod)"
    " FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid"
    " JOIN pg_collation k ON k.oid = a.attcollation"
    " WHERE t.relnamespace = current_schema()::regnamespace AND t.relkind = 'r'"
    " AND a.attnum > 0 AND NOT a.attisdropped AND t.relname <> 'alembic_version'"
    " AND k.collname <> :target"
    " ORDER BY 1, 2"
)


def _recollate(target: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    columns = bind.execute(_TEXT_COLUMNS, {"target": target}).all()
    by_table: dict[str, list[str]] = {}
    for table, column, type_ in columns:
        by_table.setdefault(table, []).append(
            f'ALTER COLUMN "{column}" TYPE {type_} COLLATE "{target}"'
        )
    # one ALTER per table: its indexes and keys are rebuilt once, and a key and the
    # foreign keys pointing at it change within one statement where they share a table
    # (the rest follow table by table: PostgreSQL compares equal bytes as equal under
    # any deterministic collation, so a key in `C` and its referrer still in the
    # default stay valid between two statements)
    for table, clauses in by_table.items():
        op.execute(f'ALTER TABLE "{table}" ' + ", ".join(clauses))


def upgrade() -> None:
    _recollate("C")


def downgrade() -> None:
    _recollate("default")
