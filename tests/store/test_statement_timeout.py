"""Every PostgreSQL statement is bounded by a statement timeout."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.config import Settings
from store.db import create_engine


@pytest.mark.postgres_only
async def test_a_stuck_statement_is_cancelled(settings: Settings) -> None:
    engine = create_engine(settings.database_url, statement_timeout=200)
    try:
        async with engine.connect() as conn:
            shown = (await conn.execute(text("SHOW statement_timeout"))).scalar_one()
            assert shown == "200ms"
            with pytest.raises(DBAPIError, match="statement timeout"):
                await conn.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()


@pytest.mark.postgres_only
async def test_the_setting_bounds_the_engine_and_the_hot_path_pool(settings: Settings) -> None:
    import asyncpg

    from gateway.config import load_settings
    from gateway.runtime import Runtime

    configured = load_settings(
        environ={
            "DIBAO_DATABASE_URL": settings.database_url,
            "DIBAO_KEY_FILE": str(settings.key_file),
            "DIBAO_STATEMENT_TIMEOUT_MS": "200",
        }
    )
    runtime = Runtime.from_settings(configured)
    try:
        async with runtime.engine.connect() as engine_conn:
            shown = (await engine_conn.execute(text("SHOW statement_timeout"))).scalar_one()
            assert shown == "200ms"
        async with runtime.reader.connect() as reads:
            conn = reads.conn
            assert isinstance(conn, asyncpg.Connection)
            assert await conn.fetchval("SHOW statement_timeout") == "200ms"
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.fetchval("SELECT pg_sleep(2)")
    finally:
        await runtime.close()
