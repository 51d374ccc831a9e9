"""Every text column compares byte by byte on PostgreSQL (migration 0028, issue 22).

The keys and indexes over the archive's ASCII ids and codes are built in a fraction of
the time under `C`; a column left in the database's default beside one in `C` would
make the join between them an error, so the whole schema is held to one collation, and
a database migrated from before keeps its rows, keys and joins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from policies.engine import default_rules
from store.crypto import Cipher, KeyRing
from store.db import create_engine
from store.migrate import alembic_config, upgrade
from store.seed import seed
from tests.conftest import REQUIRE_POSTGRES, _pg_admin

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

# the text columns of the migrated schema whose collation is not `C`, by table (a
# partitioned table's parent and a materialised view too, should one come)
_NOT_BYTEWISE = text(
    "SELECT t.relname || '.' || a.attname"
    " FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid"
    " JOIN pg_collation k ON k.oid = a.attcollation"
    " WHERE t.relnamespace = 'public'::regnamespace AND t.relkind IN ('r', 'p', 'm')"
    " AND a.attnum > 0 AND NOT a.attisdropped AND t.relname <> 'alembic_version'"
    " AND k.collname <> 'C' ORDER BY 1"
)
_BYTEWISE = text(
    "SELECT count(*) FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid"
    " JOIN pg_collation k ON k.oid = a.attcollation"
    " WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r'"
    " AND a.attnum > 0 AND NOT a.attisdropped AND k.collname = 'C'"
)


@pytest.mark.postgres_only
async def test_every_text_column_of_the_schema_compares_bytewise(database_url: str) -> None:
    engine = create_engine(database_url, pool=False)
    try:
        async with engine.connect() as conn:
            left = list((await conn.execute(_NOT_BYTEWISE)).scalars())
            recollated = await conn.scalar(_BYTEWISE)
    finally:
        await engine.dispose()
    assert left == []
    # the archive's keys are among them: the check above read real columns
    assert recollated is not None and recollated > 100


@pytest.fixture
async def fresh_pg() -> AsyncIterator[AsyncEngine]:
    try:
        await _pg_admin("SELECT 1")
    except OSError:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (DIBAO_REQUIRE_POSTGRES=1) but unreachable")
        pytest.skip("PostgreSQL is not reachable")
    name = f"dibao_collation_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    engine = create_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", pool=False)
    try:
        yield engine
    finally:
        await engine.dispose()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _to(revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    return run


# what a migration must keep: the rows, the joins between tables' keys, the order
_READ = text(
    "SELECT h.archive_no, count(m.id), min(r.id), max(p.period)"
    " FROM households h JOIN members m ON m.archive_no = h.archive_no"
    " JOIN regions g ON g.code = h.village_code"
    " LEFT JOIN reviews r ON r.archive_no = h.archive_no"
    " LEFT JOIN payments p ON p.archive_no = h.archive_no"
    " GROUP BY h.archive_no ORDER BY h.archive_no"
)


async def test_a_database_from_before_keeps_its_rows_keys_and_joins(
    fresh_pg: AsyncEngine,
) -> None:
    async with fresh_pg.begin() as conn:
        await conn.run_sync(_to("0027"))
        assert (await conn.scalar(_BYTEWISE)) == 0
    await seed(
        fresh_pg, Cipher(KeyRing.generate()), households=40, seed=3,
        today=date(2026, 11, 27), regions="national", workers=1,
    )  # fmt: skip
    async with fresh_pg.connect() as conn:
        before = (await conn.execute(_READ)).all()
    assert len(before) == 40

    await upgrade(fresh_pg, shipped_rules=default_rules())

    async with fresh_pg.connect() as conn:
        assert list((await conn.execute(_NOT_BYTEWISE)).scalars()) == []
        assert (await conn.execute(_READ)).all() == before
        invalid = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
                " WHERE t.relnamespace = 'public'::regnamespace AND NOT i.indisvalid"
            )
        )
        unvalidated = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
                " WHERE t.relnamespace = 'public'::regnamespace AND NOT c.convalidated"
            )
        )
    assert (invalid, unvalidated) == (0, 0)


async def test_a_migration_is_not_cut_short_by_the_services_statement_timeout(
    fresh_pg: AsyncEngine,
) -> None:
    """`dibao db upgrade` runs on the service's engine, whose statement timeout (30 s by
    default) would stop a key rebuilt over a national archive halfway (0028 rebuilds
    every key). An engine that allows a statement 100 ms still migrates a
    database holding rows (without the fix here, one ALTER of 0028 takes longer)."""
    async with fresh_pg.begin() as conn:
        await conn.run_sync(_to("0027"))
    await seed(
        fresh_pg, Cipher(KeyRing.generate()), households=5000, seed=5,
        today=date(2026, 11, 27), regions="national", workers=1,
    )  # fmt: skip
    hurried = create_engine(fresh_pg.url, pool=False, statement_timeout=100)
    try:
        await upgrade(hurried, shipped_rules=default_rules())
        async with hurried.connect() as conn:
            assert list((await conn.execute(_NOT_BYTEWISE)).scalars()) == []
            # and the service's own statements are still bounded
            assert (await conn.scalar(text("SHOW statement_timeout"))) == "100ms"
    finally:
        await hurried.dispose()
