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
