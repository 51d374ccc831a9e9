"""Relay connections: a resolver's plain `Page` wrapped into edges, `pageInfo` and
`totalCount`, built alike for every list that pages."""

from __future__ import annotations

import strawberry

from domain import bounds
from policies.bounds import PAGE, SCAN
from resolvers.pages import Page
from schema.pricing import priced
from schema.types import Household
from schema.verification import VerificationRequest
from store import models
from store.duplicates import Candidate
from store.verification import QueueRequest


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info(cursors: list[str], *, has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.type
class HouseholdEdge:
    node: Household
    cursor: str


@strawberry.type(description="A page of households (Relay connection).")
class HouseholdConnection:
    edges: list[HouseholdEdge] = strawberry.field(metadata=priced(bound=PAGE))
    page_info: PageInfo
    count: strawberry.Private[object]  # awaitable factory for totalCount, run only when asked

    @classmethod
    def from_page(cls, page: Page[models.Household]) -> HouseholdConnection:
        """Every household connection is built alike: the same cursors and pageInfo."""
        return cls(
            edges=[HouseholdEdge(node=Household.from_row(r), cursor=c) for r, c in page.rows],
            page_info=page_info(page.cursors, has_next=page.has_next, after=page.after),
            count=page.count,
        )

    # a count over the scope by index: cheaper than a scan, still not free
    @strawberry.field(
        description="All households matching the filters in your region.",
        metadata=priced(cost=1_000),
    )
    async def total_count(self) -> int:
        return int(await self.count())  # type: ignore[operator]


@strawberry.type(
    description="One ID number held by several pending or active households: the archive "
    "numbers in your region, and how many others hold it elsewhere."
)
class DuplicateCandidate:
    archive_nos: list[str] = strawberry.field(metadata=priced(bound=bounds.DUPLICATE_ARCHIVES))
    elsewhere: int = strawberry.field(description="Households outside your region holding it.")
    members: int = strawberry.field(description="Member records carrying the ID number.")


@strawberry.type
class DuplicateCandidateEdge:
    node: DuplicateCandidate
    cursor: str


@strawberry.type(description="A page of duplicate candidates (Relay connection).")
class DuplicateCandidateConnection:
    edges: list[DuplicateCandidateEdge] = strawberry.field(metadata=priced(bound=PAGE))
    page_info: PageInfo
    count: strawberry.Private[object]  # awaitable factory for totalCount, run only when asked

    @classmethod
    def from_page(cls, page: Page[Candidate]) -> DuplicateCandidateConnection:
        return cls(
            edges=[
                DuplicateCandidateEdge(
                    node=DuplicateCandidate(
                        archive_nos=list(c.archive_nos), elsewhere=c.elsewhere, members=c.members
                    ),
                    cursor=cursor,
                )
                for c, cursor in page.rows
            ],
            page_info=page_info(page.cursors, has_next=page.has_next, after=page.after),
            count=page.count,
        )

    # groups the blind index nationwide: a scan
    @strawberry.field(description="All candidates in your region.", metadata=priced(cost=SCAN))
    async def total_count(self) -> int:
        return int(await self.count())  # type: ignore[operator]


@strawberry.type
class VerificationRequestEdge:
    node: VerificationRequest
    cursor: str


@strawberry.type(description="A page of your department's verification requests (核对).")
class VerificationRequestConnection:
    edges: list[VerificationRequestEdge] = strawberry.field(metadata=priced(bound=PAGE))
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[QueueRequest]) -> VerificationRequestConnection:
        return cls(
            edges=[
                VerificationRequestEdge(node=VerificationRequest.from_queued(r), cursor=c)
                for r, c in page.rows
            ],
            page_info=page_info(page.cursors, has_next=page.has_next, after=page.after),
        )
