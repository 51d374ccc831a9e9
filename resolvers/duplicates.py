"""Reviewers: people already held by more than one claiming household (no ID numbers shown)."""

from __future__ import annotations

import strawberry

from domain.region import validate_scope
from resolvers.context import Info
from store import duplicates as store


@strawberry.type(
    description="One ID number held by several pending or active households: the archive "
    "numbers in your region, and how many others hold it elsewhere."
)
class DuplicateCandidate:
    archive_nos: list[str]
    elsewhere: int = strawberry.field(description="Households outside your region holding it.")
    members: int = strawberry.field(description="Member records carrying the ID number.")


async def duplicate_candidates(info: Info, region: str | None = None) -> list[DuplicateCandidate]:
    ctx = info.context
    narrowed = validate_scope(region, field="region") if region else None
    async with ctx.reading() as session:
        found = await store.duplicate_candidates(
            session, scope=ctx.principal.scope, region=narrowed
        )
    for candidate in found:
        ctx.touched.update(candidate.archive_nos)
    return [
        DuplicateCandidate(
            archive_nos=list(c.archive_nos), elsewhere=c.elsewhere, members=c.members
        )
        for c in found
    ]
