"""the statistics' tallies (issue 22): households counted per county, track and status,
and payments counted and summed per county, month, track and status, kept by triggers
in the transaction of every change to a household or a payment, so `statistics` of a
province or a city adds up its counties' rows instead of reading each household

The county is the archive number's (the scope of `statistics` is a range of archive
numbers, and an archive number never changes); the track is the household's, also for
its payments (a household moved to the other track takes its payments' tallies along).

On PostgreSQL the triggers are per statement (one upsert per COPY, import batch or
payment batch, of the statement's rows added up by key, in key order, so two
statements meet the tallies' rows in one order); a seed skips them
(`dibao.tallies_deferred`) and counts the tallies afresh once loaded. On SQLite
(one writer) they are per row.

Revision ID: 0026
Revises: 0025
"""

# ruff: noqa: S608 - the SQL of triggers, built from this file's constants alone

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.types import Money

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_COUNTY = "substr({t}.archive_no, 1, 6)"

# the tallies of the archive as it stands (also what a seed runs once loaded: see
# store/tallies.py, which holds the two equal in its tests)
COUNT_HOUSEHOLDS = (
    "INSERT INTO household_tallies (county_code, area, status, households)"
    " SELECT substr(archive_no, 1, 6), area, status, count(*) FROM households"
    " GROUP BY substr(archive_no, 1, 6), area, status"
)
COUNT_PAYMENTS = (
    "INSERT INTO payment_tallies (county_code, period, area, status, payments, amount)"
    " SELECT substr(p.archive_no, 1, 6), p.period, h.area, p.status, count(*), sum(p.amount)"
    " FROM payments p JOIN households h ON h.archive_no = p.archive_no"
    " GROUP BY substr(p.archive_no, 1, 6), p.period, h.area, p.status"
)

_DEFERRED = "current_setting('dibao.tallies_deferred', true) = 'on'"


def _pg_households(delta: str) -> str:
    return (
        "INSERT INTO household_tallies AS t (county_code, area, status, households)"
        " SELECT c, a, s, sum(n) FROM (" + delta + ") AS d(c, a, s, n)"
        " GROUP BY c, a, s HAVING sum(n) <> 0 ORDER BY c, a, s"
        " ON CONFLICT (county_code, area, status)"
        " DO UPDATE SET households = t.households + excluded.households"
    )


def _pg_payments(delta: str) -> str:
    return (
        "INSERT INTO payment_tallies AS t (county_code, period, area, status, payments, amount)"
        " SELECT c, m, a, s, sum(n), sum(v) FROM (" + delta + ") AS d(c, m, a, s, n, v)"
        " GROUP BY c, m, a, s HAVING sum(n) <> 0 OR sum(v) <> 0 ORDER BY c, m, a, s"
        " ON CONFLICT (county_code, period, area, status) DO UPDATE"
        " SET payments = t.payments + excluded.payments, amount = t.amount + excluded.amount"
    )


def _rows(table: str, sign: str) -> str:
    return f"SELECT {_COUNTY.format(t=table)}, {table}.area, {table}.status, {sign}1 FROM {table}"


def _paid(rows: str, sign: str) -> str:
    """A payment statement's rows, with their household's track."""
    return (
        f"SELECT {_COUNTY.format(t='r')}, r.period, h.area, r.status, {sign}1, {sign}r.amount"
        f" FROM {rows} r JOIN households h ON h.archive_no = r.archive_no"
    )


def _moved(old: str, new: str, rows: str, sign: str) -> str:
    """The payments of households whose track changed, under the old or the new one."""
    side = old if sign == "-" else new
    return (
        f"SELECT {_COUNTY.format(t='p')}, p.period, {side}.area, p.status, {sign}1, {sign}p.amount"
        f" FROM {old} JOIN {new} ON {new}.archive_no = {old}.archive_no"
        f" JOIN payments p ON p.archive_no = {rows}.archive_no"
        f" WHERE {old}.area IS DISTINCT FROM {new}.area"
    )


# name, table, event, transition tables, the statements of its function
_PG_TRIGGERS = (
    ("households_insert", "households", "INSERT", "NEW TABLE AS new_rows",
     (_pg_households(_rows("new_rows", "+")),)),
    ("households_delete", "households", "DELETE", "OLD TABLE AS old_rows",
     (_pg_households(_rows("old_rows", "-")),)),
    ("households_update", "households", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
     (_pg_households(_rows("new_rows", "+") + " UNION ALL " + _rows("old_rows", "-")),
      _pg_payments(_moved("old_rows", "new_rows", "new_rows", "+") + " UNION ALL "
                   + _moved("old_rows", "new_rows", "new_rows", "-")))),
    ("payments_insert", "payments", "INSERT", "NEW TABLE AS new_rows",
     (_pg_payments(_paid("new_rows", "+")),)),
    ("payments_delete", "payments", "DELETE", "OLD TABLE AS old_rows",
     (_pg_payments(_paid("old_rows", "-")),)),
    ("payments_update", "payments", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows",
     (_pg_payments(_paid("new_rows", "+") + " UNION ALL " + _paid("old_rows", "-")),)),
)  # fmt: skip


def _sqlite_household(row: str, sign: str) -> str:
    county = _COUNTY.format(t=row)
    return (
        "INSERT OR IGNORE INTO household_tallies (county_code, area, status, households)"
        f" VALUES ({county}, {row}.area, {row}.status, 0);"
        f" UPDATE household_tallies SET households = households {sign} 1"
        f" WHERE county_code = {county} AND area = {row}.area AND status = {row}.status;"
    )


def _sqlite_payment(row: str, sign: str) -> str:
    county = _COUNTY.format(t=row)
    area = f"(SELECT area FROM households WHERE archive_no = {row}.archive_no)"
    return (
        "INSERT OR IGNORE INTO payment_tallies"
        " (county_code, period, area, status, payments, amount)"
        f" VALUES ({county}, {row}.period, {area}, {row}.status, 0, 0);"
        f" UPDATE payment_tallies SET payments = payments {sign} 1,"
        f" amount = amount {sign} {row}.amount"
        f" WHERE county_code = {county} AND period = {row}.period AND area = {area}"
        f" AND status = {row}.status;"
    )


def _sqlite_moved(row: str, sign: str) -> str:
    """A household's payments' tallies, under its track as `row` has it."""
    county = _COUNTY.format(t=row)
    mine = f"p.archive_no = {row}.archive_no"
    return (
        "INSERT OR IGNORE INTO payment_tallies"
        " (county_code, period, area, status, payments, amount)"
        f" SELECT DISTINCT {county}, p.period, {row}.area, p.status, 0, 0 FROM payments p"
        f" WHERE {mine};"
        f" UPDATE payment_tallies SET"
        f" payments = payments {sign} (SELECT count(*) FROM payments p WHERE {mine}"
        " AND p.period = payment_tallies.period AND p.status = payment_tallies.status),"
        f" amount = amount {sign} (SELECT coalesce(sum(p.amount), 0) FROM payments p"
        f" WHERE {mine} AND p.period = payment_tallies.period"
        " AND p.status = payment_tallies.status)"
        f" WHERE county_code = {county} AND area = {row}.area;"
    )


_SQLITE_TRIGGERS = (
    ("households_insert", "AFTER INSERT ON households", "1", _sqlite_household("NEW", "+")),
    ("households_delete", "AFTER DELETE ON households", "1", _sqlite_household("OLD", "-")),
    ("households_update", "AFTER UPDATE OF archive_no, area, status ON households",
     "(OLD.archive_no, OLD.area, OLD.status) IS NOT (NEW.archive_no, NEW.area, NEW.status)",
     _sqlite_household("OLD", "-") + " " + _sqlite_household("NEW", "+")),
    # payments follow their household's track: moved before the household's own row
    # changes would matter to them (the payments' triggers read the track as it is)
    ("households_area", "AFTER UPDATE OF area ON households", "OLD.area IS NOT NEW.area",
     _sqlite_moved("OLD", "-") + " " + _sqlite_moved("NEW", "+")),
    ("payments_insert", "AFTER INSERT ON payments", "1", _sqlite_payment("NEW", "+")),
    ("payments_delete", "AFTER DELETE ON payments", "1", _sqlite_payment("OLD", "-")),
    ("payments_update", "AFTER UPDATE OF archive_no, period, status, amount ON payments",
     "(OLD.archive_no, OLD.period, OLD.status, OLD.amount)"
     " IS NOT (NEW.archive_no, NEW.period, NEW.status, NEW.amount)",
     _sqlite_payment("OLD", "-") + " " + _sqlite_payment("NEW", "+")),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "household_tallies",
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("area", sa.String(5), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("county_code", "area", "status", name="pk_household_tallies"),
    )
    op.create_table(
        "payment_tallies",
        sa.Column("county_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("area", sa.String(5), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("payments", sa.Integer(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.PrimaryKeyConstraint(
            "county_code", "period", "area", "status", name="pk_payment_tallies"
        ),
    )
    op.execute(COUNT_HOUSEHOLDS)
    op.execute(COUNT_PAYMENTS)
    if op.get_bind().dialect.name == "postgresql":
        for name, table, event, tables, statements in _PG_TRIGGERS:
            body = " ".join(f"{s};" for s in statements)
            op.execute(
                f"CREATE FUNCTION tallies_{name}() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN IF {_DEFERRED} THEN RETURN NULL; END IF; {body} RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER tallies_{name} AFTER {event} ON {table}"
                f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION tallies_{name}()"
            )
        return
    for name, event, when, body in _SQLITE_TRIGGERS:
        op.execute(
            f"CREATE TRIGGER tallies_{name} {event} FOR EACH ROW WHEN {when} BEGIN {body} END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, *_ in _PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS tallies_{name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS tallies_{name}()")
    else:
        for name, *_ in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS tallies_{name}")
    op.drop_table("payment_tallies")
    op.drop_table("household_tallies")
