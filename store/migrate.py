"""`dibao db upgrade`: run Alembic migrations programmatically on either backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from store.policy import sync_shipped
from store.types import utcnow

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection) -> bool:
    """Migrate to the head; True when the database was new (no revision before)."""
    fresh = MigrationContext.configure(connection).get_current_revision() is None
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    return fresh


async def _unbounded(connection: AsyncConnection) -> None:
    """A migration is an operator's bulk work, not a request: the service's statement
    timeout (30 s by default, on every connection of the engine) would stop one that
    rebuilds a key over a national archive halfway, and the upgrade would fail (it rolls
    back whole). For this transaction only."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SET LOCAL statement_timeout = 0"))


async def upgrade(engine: AsyncEngine, *, shipped_rules: Sequence[Sequence[str]]) -> None:
    """Migrate, then add any shipped default policy rules this database has not had yet.

    The rules come from the caller (`policies.engine.default_rules()`): the store
    keeps rules, it does not know which ones ship.
    """
    async with engine.begin() as connection:
        await _unbounded(connection)
        fresh = await connection.run_sync(_upgrade)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await _unbounded(await session.connection())
        # a new database starts at policy version 1 with the whole shipped policy: the
        # version counts changes servers must reload, and `audit verify` reads a
        # version above 1 as a sign that the installation has served
        await sync_shipped(session, shipped_rules, now=utcnow(), announce=not fresh)
