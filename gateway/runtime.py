"""Process-wide resources built from settings: the engine, sessions and the cipher."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.config import Settings
from store.crypto import Cipher, load_or_create_keys
from store.db import create_engine, session_factory


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cipher: Cipher

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            cipher=Cipher(load_or_create_keys(settings.key_file)),
        )

    async def close(self) -> None:
        await self.engine.dispose()
