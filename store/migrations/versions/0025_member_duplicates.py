"""the duplicates table (issue 22): one row per (blind index, household) for the people
held by two claiming households or more, kept by triggers in the transaction of every
change to a member or to a household's status, so `duplicateCandidates` reads the
caller's scope's rows of it instead of grouping the scope's members at each call

On PostgreSQL the triggers are per statement (one refresh per COPY, import batch or
re-key batch, over the people the statement touched); each refresh first takes a
transaction lock on the people's bucket (the blind index's first byte), so two
transactions adding the same person to two households cannot both miss the other:
the second waits, and its refresh then reads the first's committed rows. A seed skips
them (`dibao.duplicates_deferred`): it stores no ID number already held, so it makes
no new duplicate. On SQLite (one writer) they are per row.

Revision ID: 0025
Revises: 0022
"""

# ruff: noqa: S608 - the SQL of triggers, built from this file's constants alone

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# domain.enums.CLAIMING_STATUSES when this was written (a migration does not follow the
# code; tests/workflow/test_duplicates_maintained.py holds the two equal)
CLAIMING = (
    "SUBMITTED",
    "AWAITING_CORRECTION",
    "ACCEPTED",
    "INVESTIGATED",
    "TOWNSHIP_REVIEWED",
    "NOTICE",
    "APPROVED",
    "ACTIVE",
    "SUSPENDED",
    "GRADUAL_EXIT",
)
_CLAIMING_SQL = ", ".join(f"'{s}'" for s in CLAIMING)
LOCK_CLASS = 22023  # pg_advisory_xact_lock(class, bucket): this table's own key space


def insert_for(people: str, *, fenced: bool = False) -> str:
    """The rows of the people the predicate `people` (on `m.id_index`) selects (every
    part of the SQL in this file is a constant of it).

    `fenced` (PostgreSQL): the people's members are found by their blind index alone,
    behind OFFSET 0, which the planner does not look through. During a bulk load the
    statistics are stale, and without the fence one refresh per statement was planned
    as a scan of every claiming household or of an index on `active` (a load of 100k
    members took minutes)."""
    members = (
        f"(SELECT id, id_index, archive_no, active FROM members m WHERE {people} OFFSET 0) m"
        if fenced
        else "members m"
    )
    return (
        "INSERT INTO member_duplicates (id_index, archive_no, members) "
        "SELECT id_index, archive_no, members FROM ("
        " SELECT m.id_index AS id_index, m.archive_no AS archive_no, count(*) AS members,"
        "  count(*) OVER (PARTITION BY m.id_index) AS households"
        f" FROM {members}"
        f" WHERE {people} AND m.active"
        # a lookup per member of the people, never a join (see `fenced`)
        " AND (SELECT h.status FROM households h WHERE h.archive_no = m.archive_no)"
        f" IN ({_CLAIMING_SQL})"
        " GROUP BY m.id_index, m.archive_no"
        ") AS g WHERE households > 1"
    )


_PG_REFRESH = f"""
CREATE FUNCTION member_duplicates_refresh(people bytea[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bucket integer;
BEGIN
    IF people IS NULL OR cardinality(people) = 0 THEN
        RETURN;
    END IF;
    FOR bucket IN SELECT DISTINCT get_byte(p, 0) FROM unnest(people) AS p ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock({LOCK_CLASS}, bucket);
    END LOOP;
    DELETE FROM member_duplicates WHERE id_index = ANY(people);
    {insert_for("m.id_index = ANY(people)", fenced=True)};
END $$
"""

_DEFERRED = "current_setting('dibao.duplicates_deferred', true) = 'on'"

# name, table, event, transition tables, the people the statement touched
_PG_TRIGGERS = (
    (
        "members_insert",
        "members",
        "INSERT",
        "NEW TABLE AS new_rows",
        "SELECT DISTINCT id_index FROM new_rows WHERE id_index IS NOT NULL",
    ),
    (
        "members_delete",
        "members",
        "DELETE",
        "OLD TABLE AS old_rows",
        "SELECT DISTINCT id_index FROM old_rows WHERE id_index IS NOT NULL",
    ),
    (
        "members_update",
        "members",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT DISTINCT v.p FROM old_rows o JOIN new_rows n ON n.id = o.id,"
        " LATERAL (VALUES (o.id_index), (n.id_index)) AS v(p)"
        " WHERE v.p IS NOT NULL AND (o.id_index, o.archive_no, o.active)"
        " IS DISTINCT FROM (n.id_index, n.archive_no, n.active)",
    ),
    (
        "households_update",
        "households",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT DISTINCT m.id_index FROM old_rows o"
        " JOIN new_rows n ON n.archive_no = o.archive_no"
        " JOIN members m ON m.archive_no = n.archive_no"
        f" WHERE (o.status IN ({_CLAIMING_SQL})) IS DISTINCT FROM (n.status IN ({_CLAIMING_SQL}))"
        " AND m.id_index IS NOT NULL",
    ),
)


def _sqlite_refresh(key: str) -> str:
    delete = f"DELETE FROM member_duplicates WHERE id_index = {key};"
    return f"{delete} {insert_for(f'm.id_index = {key}')};"


_OF_HOUSEHOLD = "(SELECT id_index FROM members WHERE archive_no = NEW.archive_no)"


_SQLITE_TRIGGERS = (
    ("members_insert", "AFTER INSERT ON members", "NEW.id_index IS NOT NULL",
     _sqlite_refresh("NEW.id_index")),
    ("members_delete", "AFTER DELETE ON members", "OLD.id_index IS NOT NULL",
     _sqlite_refresh("OLD.id_index")),
    ("members_update", "AFTER UPDATE OF id_index, archive_no, active ON members", "1",
     _sqlite_refresh("OLD.id_index") + " " + _sqlite_refresh("NEW.id_index")),
    (
        "households_update",
        "AFTER UPDATE OF status ON households",
        f"(OLD.status IN ({_CLAIMING_SQL})) IS NOT (NEW.status IN ({_CLAIMING_SQL}))",
        f"DELETE FROM member_duplicates WHERE id_index IN {_OF_HOUSEHOLD}; "
        + insert_for(f"m.id_index IN {_OF_HOUSEHOLD}")
        + ";",
    ),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "member_duplicates",
        sa.Column("id_index", sa.LargeBinary(32), nullable=False),
        sa.Column("archive_no", sa.String(24), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id_index", "archive_no", name="pk_member_duplicates"),
    )
    op.create_index(
        "ix_member_duplicates_archive_no", "member_duplicates", ["archive_no", "id_index"]
    )
    op.execute(insert_for("m.id_index IS NOT NULL"))  # the archive as it stands
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_REFRESH)
        for name, table, event, tables, people in _PG_TRIGGERS:
            op.execute(
                f"CREATE FUNCTION member_duplicates_{name}() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN IF {_DEFERRED} THEN RETURN NULL; END IF;"
                f" PERFORM member_duplicates_refresh(ARRAY({people})); RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER member_duplicates_{name} AFTER {event} ON {table}"
                f" REFERENCING {tables} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION member_duplicates_{name}()"
            )
        return
    for name, event, when, body in _SQLITE_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER member_duplicates_{name} {event} FOR EACH ROW"
            f" WHEN {when} BEGIN {body} END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, *_ in _PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS member_duplicates_{name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS member_duplicates_{name}()")
        op.execute("DROP FUNCTION IF EXISTS member_duplicates_refresh(bytea[])")
    else:
        for name, *_ in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS member_duplicates_{name}")
    op.drop_index("ix_member_duplicates_archive_no", table_name="member_duplicates")
    op.drop_table("member_duplicates")
