"""Timeliness (时效性) and statistics for reviewers and supervisors, within their region."""

from __future__ import annotations

import re
from decimal import Decimal

import strawberry

from domain.bounds import DEFAULT_PAGE
from domain.enums import Area, Category, HouseholdStatus
from domain.errors import InvalidInput
from domain.region import validate_scope
from resolvers.context import Info
from resolvers.households import household_page
from schema.types import HouseholdConnection
from store import models
from store import timeliness as store

PERIOD_RE = re.compile(r"\A[0-9]{4}-(0[1-9]|1[0-2])\Z")


LABEL = (
    "The count as text, for every reader: exact where the policy lets the caller read "
    'the rows, else small-cell suppressed ("<5" under five). Show this one.'
)


@strawberry.type
class StatusCount:
    area: Area
    status: HouseholdStatus
    households: int = strawberry.field(description="Exact count (readers of the rows).")
    households_label: str = strawberry.field(description=LABEL)


@strawberry.type
class CategoryCount:
    category: Category
    households: int = strawberry.field(description="Active households with such a member.")
    households_label: str = strawberry.field(description=LABEL)


@strawberry.type
class PaymentTotal:
    area: Area
    status: str
    payments: int = strawberry.field(description="Exact count (readers of the rows).")
    payments_label: str = strawberry.field(description=LABEL)
    amount: Decimal


@strawberry.type(description="Counts and amounts in your region, by track, status and category.")
class Statistics:
    period: str
    by_status: list[StatusCount]
    by_category: list[CategoryCount]
    payments: list[PaymentTotal]


async def overdue(
    info: Info,
    stage: HouseholdStatus,
    region: str | None = None,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
) -> HouseholdConnection:
    ctx = info.context
    stmt = store.overdue(
        scope=ctx.principal.scope,
        region=validate_scope(region) if region else None,
        stage=stage,
        now=ctx.now,
        limits=ctx.settings.stage_limits,
    )
    return await household_page(
        info, stmt, key=models.Household.status_changed_at, first=first, after=after
    )


async def statistics(info: Info, period: str, region: str | None = None) -> Statistics:
    if not PERIOD_RE.match(period):
        raise InvalidInput("period: YYYY-MM", field="period")
    ctx = info.context
    async with ctx.reading() as session:
        found = await store.statistics(
            session,
            scope=ctx.principal.scope,
            region=validate_scope(region) if region else None,
            period=period,
            today=ctx.today,
        )
    return Statistics(
        period=period,
        by_status=[
            StatusCount(
                area=Area(a), status=HouseholdStatus(s), households=n, households_label=str(n)
            )
            for a, s, n in found.by_status
        ],
        by_category=[
            CategoryCount(category=Category(c), households=n, households_label=str(n))
            for c, n in found.by_category
        ],
        payments=[
            PaymentTotal(area=Area(a), status=s, payments=n, payments_label=str(n), amount=t)
            for a, s, n, t in found.payments
        ],
    )
