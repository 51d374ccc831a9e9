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
async def test_the_hot_path_pool_has_the_same_timeout(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncpg
    from opentelemetry import trace

    from store.fastread import FastReader

    monkeypatch.setenv("DIBAO_STATEMENT_TIMEOUT_MS", "200")
    engine = create_engine(settings.database_url)
    reader = FastReader(engine, trace.NoOpTracer())
    try:
        async with reader.connect() as reads:
            conn = reads.conn
            assert isinstance(conn, asyncpg.Connection)
            assert await conn.fetchval("SHOW statement_timeout") == "200ms"
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.fetchval("SELECT pg_sleep(2)")
    finally:
        await reader.close()
        await engine.dispose()
