"""The per-request context: who asks, a session factory, the cipher, and DataLoaders.

Each loader batch opens its own short session: sibling loaders run
concurrently, and one AsyncSession must never be shared between tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from domain.principal import Principal
from gateway.policy_gate import RequestGate
from store import households as store
from store.crypto import Cipher
from store.models import Asset, Member, Payment, Region, Review

T = TypeVar("T")
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "CST")  # dates of the archive are Beijing dates


@dataclass
class Loaders:
    members: DataLoader[str, list[Member]]
    reviews: DataLoader[str, list[Review]]
    payments: DataLoader[str, list[Payment]]
    assets: DataLoader[str, list[Asset]]
    regions: DataLoader[str, Region | None]


def _grouped(
    sessions: async_sessionmaker[AsyncSession],
    fetch: Callable[..., Awaitable[dict[str, list[T]]]],
    scope: str,
) -> DataLoader[str, list[T]]:
    async def load(keys: Sequence[str]) -> list[list[T]]:
        async with sessions() as session:
            found = await fetch(session, scope=scope, archive_nos=list(keys))
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def make_loaders(sessions: async_sessionmaker[AsyncSession], scope: str) -> Loaders:
    async def load_regions(keys: Sequence[str]) -> list[Region | None]:
        async with sessions() as session:
            found = await store.regions_by_code(session, codes=list(keys))
        return [found.get(key) for key in keys]

    return Loaders(
        members=_grouped(sessions, store.members_by_archive, scope),
        reviews=_grouped(sessions, store.reviews_by_archive, scope),
        payments=_grouped(sessions, store.payments_by_archive, scope),
        assets=_grouped(sessions, store.assets_by_archive, scope),
        regions=DataLoader(load_fn=load_regions),
    )


@dataclass
class Context:
    principal: Principal
    sessions: async_sessionmaker[AsyncSession]
    cipher: Cipher
    now: dt.datetime
    gate: RequestGate
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = make_loaders(self.sessions, self.principal.scope)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(CHINA_TIME).date()


Info = strawberry.Info[Context, None]
