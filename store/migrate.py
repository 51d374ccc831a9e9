"""`dibao db upgrade`: run Alembic migrations programmatically on either backend."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from policies.engine import default_rules
from store.policy import sync_shipped
from store.types import utcnow

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Migrate, then add any shipped default policy rules this database has not had yet."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await sync_shipped(session, default_rules(), now=utcnow())
