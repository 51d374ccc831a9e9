"""The per-request context: who asks, sessions, the cipher, DataLoaders, the settings.

Defined here, below the gateway: the gateway fills it in (and extends it with
its policy gate, gateway/context.py); resolvers see only what is declared here.

Reads open a short session each (sibling loaders run concurrently, and one
AsyncSession must never be shared between tasks). Once a mutation opens the
request's transaction, every later read in the request goes through that one
session, under a lock, so the result shows the request's own uncommitted
changes; the gateway commits it together with the audit entry, or rolls it back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from audit import fields as F
from audit.lookups import lookup
from domain.principal import Principal
from domain.verification import DUE_WORKING_DAYS
from domain.workflow import ARCHIVE_AFTER_DAYS, STAGE_LIMITS
from store import households as store
from store.crypto import Cipher
from store.models import (
    Asset,
    BenefitHistory,
    ChangeReport,
    Member,
    Objection,
    Payment,
    Region,
    Review,
)

T = TypeVar("T")
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "CST")  # dates of the archive are Beijing dates
Reading = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class Settings(Protocol):
    """The configuration resolvers read (the gateway's Settings has these and more)."""

    @property
    def archive_after_days(self) -> int: ...
    @property
    def stage_limits(self) -> dict[str, int]: ...
    @property
    def anchor_file(self) -> Path | None: ...
    @property
    def verification_days(self) -> int: ...


@dataclass(frozen=True, slots=True)
class DefaultSettings:
    """The domain's defaults, for a context built without configuration."""

    archive_after_days: int = ARCHIVE_AFTER_DAYS
    stage_limits: dict[str, int] = field(default_factory=lambda: dict(STAGE_LIMITS))
    anchor_file: Path | None = None
    verification_days: int = DUE_WORKING_DAYS


@dataclass
class Loaders:
    members: DataLoader[str, list[Member]]
    reviews: DataLoader[str, list[Review]]
    payments: DataLoader[str, list[Payment]]
    assets: DataLoader[str, list[Asset]]
    changes: DataLoader[str, list[ChangeReport]]
    objections: DataLoader[str, list[Objection]]
    benefits: DataLoader[str, list[BenefitHistory]]
    regions: DataLoader[str, Region | None]


def _grouped(
    reading: Reading, fetch: Callable[..., Awaitable[dict[str, list[T]]]], scope: str
) -> DataLoader[str, list[T]]:
    async def load(keys: Sequence[str]) -> list[list[T]]:
        async with reading() as session:
            found = await fetch(session, scope=scope, archive_nos=list(keys))
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def make_loaders(reading: Reading, scope: str) -> Loaders:
    async def load_regions(keys: Sequence[str]) -> list[Region | None]:
        async with reading() as session:
            found = await store.regions_by_code(session, codes=list(keys))
        return [found.get(key) for key in keys]

    return Loaders(
        members=_grouped(reading, store.members_by_archive, scope),
        reviews=_grouped(reading, store.reviews_by_archive, scope),
        payments=_grouped(reading, store.payments_by_archive, scope),
        assets=_grouped(reading, store.assets_by_archive, scope),
        changes=_grouped(reading, store.changes_by_archive, scope),
        objections=_grouped(reading, store.objections_by_archive, scope),
        benefits=_grouped(reading, store.benefits_by_archive, scope),
        regions=DataLoader(load_fn=load_regions),
    )


@dataclass
class Context:
    principal: Principal
    sessions: async_sessionmaker[AsyncSession]
    cipher: Cipher
    now: dt.datetime
    settings: Settings = field(default_factory=DefaultSettings)
    touched: set[str] = field(default_factory=set)  # archive numbers read or changed
    # people looked up or claimed by ID number, by blind index (audit/lookups.py)
    lookups: list[dict[str, Any]] = field(default_factory=list)
    loaders: Loaders = field(init=False)
    _tx: AsyncSession | None = field(default=None, init=False)
    _tx_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self.loaders = make_loaders(self.reading, self.principal.scope)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(CHINA_TIME).date()

    @property
    def transaction(self) -> AsyncSession | None:
        return self._tx

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        if self._tx is None:
            async with self.sessions() as session:
                yield session
            return
        async with self._tx_lock:
            yield self._tx

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """The request's one transaction; committed by the gateway with the audit entry."""
        if self._tx is None:
            self._tx = self.sessions()
        async with self._tx_lock:
            yield self._tx

    def check_claims(self, blind_indexes: list[bytes]) -> None:
        """Before ID numbers are checked for a claim elsewhere (store.applications): each
        is an answer about a person, charged against the lookup quota like a
        verification, refused whole (429) when it does not fit, and recorded. Whether
        the request commits decides later if they were claims or probes."""
        refusal = self.charge_lookups(len(blind_indexes))
        if refusal is not None:
            raise refusal
        self.lookups.extend(lookup(F.LOOKUP_CLAIM, ix, found=False) for ix in blind_indexes)

    def charge_lookups(self, count: int) -> Exception | None:
        """The refusal when `count` more lookups do not fit the caller's quota; the
        gateway's context charges them (resolvers know no quotas)."""
        return None

    async def close(self) -> None:
        if self._tx is not None:
            await self._tx.close()  # rolls back anything not committed
            self._tx = None


Info = strawberry.Info[Context, None]
