"""The context GraphQL execution sees: the resolvers' context plus DataLoaders.

The loaders batch the nested lists of a page (a household's members, reviews, ...)
into one statement each; only the schema's types read them, so they live here,
above the resolvers. Each batch opens its own short session: sibling loaders run
concurrently, and one AsyncSession must never be shared between tasks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from resolvers.context import Context
from store import documents as documents_store
from store import households as store
from store import review, verification
from store.crypto import Cipher
from store.models import (
    ArchiveDocument,
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
Reading = Callable[[], AbstractAsyncContextManager[AsyncSession]]


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
    verifications: DataLoader[str, list[verification.RequestView]]
    documents: DataLoader[str, list[ArchiveDocument]]
    # a page of credentials' use, from the audit log's index, in one batch
    usage: DataLoader[str, review.CredentialUsage]


def _grouped(
    reading: Reading, fetch: Callable[..., Awaitable[dict[str, list[T]]]], scope: str
) -> DataLoader[str, list[T]]:
    async def load(keys: Sequence[str]) -> list[list[T]]:
        async with reading() as session:
            found = await fetch(session, scope=scope, archive_nos=list(keys))
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def make_loaders(reading: Reading, scope: str, cipher: Cipher, now: dt.datetime) -> Loaders:
    async def load_regions(keys: Sequence[str]) -> list[Region | None]:
        async with reading() as session:
            found = await store.regions_by_code(session, codes=list(keys))
        return [found.get(key) for key in keys]

    async def load_verifications(keys: Sequence[str]) -> list[list[verification.RequestView]]:
        async with reading() as session:
            found = await verification.household_requests(
                session, cipher, archive_nos=list(keys), scope=scope
            )
        return [found.get(key, []) for key in keys]

    async def load_usage(keys: Sequence[str]) -> list[review.CredentialUsage]:
        async with reading() as session:
            found = await review.credential_usage(session, ids=list(keys), now=now)
        return [found.get(key, review.CredentialUsage()) for key in keys]

    return Loaders(
        members=_grouped(reading, store.members_by_archive, scope),
        reviews=_grouped(reading, store.reviews_by_archive, scope),
        payments=_grouped(reading, store.payments_by_archive, scope),
        assets=_grouped(reading, store.assets_by_archive, scope),
        changes=_grouped(reading, store.changes_by_archive, scope),
        objections=_grouped(reading, store.objections_by_archive, scope),
        benefits=_grouped(reading, store.benefits_by_archive, scope),
        regions=DataLoader(load_fn=load_regions),
        verifications=DataLoader(load_fn=load_verifications),
        documents=_grouped(reading, documents_store.documents_by_archive, scope),
        usage=DataLoader(load_fn=load_usage),
    )


@dataclass
class GraphContext(Context):
    """The resolvers' context with the request's DataLoaders (one set per request)."""

    @cached_property
    def loaders(self) -> Loaders:
        # made on first use: most requests (every one the compiled read path answers, a
        # mutation, a point lookup without nested lists) read through no loader, and
        # eleven of them were a measurable share of a point lookup's CPU
        return make_loaders(self.reading, self.principal.scope, self.cipher, self.now)


Info = strawberry.Info[GraphContext, None]
