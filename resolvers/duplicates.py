"""Reviewers: people already held by more than one claiming household (no ID numbers shown)."""

from __future__ import annotations

from domain.bounds import DEFAULT_PAGE, page_size
from domain.region import validate_scope
from resolvers.context import Info
from resolvers.pages import Page
from store import duplicates as store


async def duplicate_candidates(
    info: Info,
    region: str | None = None,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
) -> Page[store.Candidate]:
    ctx = info.context
    size = page_size(first)
    narrowed = validate_scope(region, field="region") if region else None
    async with ctx.reading() as session:
        found, has_next = await store.duplicate_candidates(
            session, scope=ctx.principal.scope, region=narrowed, first=size, after=after
        )
    for candidate in found:
        ctx.touched.update(candidate.archive_nos)

    async def count() -> int:
        async with ctx.reading() as session:
            return await store.count_candidates(session, scope=ctx.principal.scope, region=narrowed)

    return Page(rows=[(c, c.cursor) for c in found], has_next=has_next, after=after, count=count)
