"""Timeliness (时效性) and statistics for reviewers and supervisors, within their region."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select

from domain.bounds import DEFAULT_PAGE
from domain.enums import HouseholdStatus
from domain.errors import InvalidInput
from domain.region import validate_scope
from resolvers.context import Info
from resolvers.households import household_page
from resolvers.pages import Page
from store import models
from store import timeliness as store

PERIOD_RE = re.compile(r"\A[0-9]{4}-(0[1-9]|1[0-2])\Z")


@dataclass(frozen=True, slots=True)
class PeriodStatistics:
    """What `statistics` found for a period, before the schema shapes it."""

    period: str
    found: store.Statistics


async def overdue(
    info: Info,
    stage: HouseholdStatus | None = None,
    verification: bool = False,
    region: str | None = None,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
) -> Page[models.Household]:
    if (stage is None) == (not verification):
        raise InvalidInput(
            "overdue: name a stage, or verification: true (a department's answer past its "
            "due date), not both",
            field="stage",
        )
    ctx = info.context
    scope = ctx.principal.scope
    within = validate_scope(region) if region else None
    stmt: Select[models.Household] | None
    if stage is None:
        stmt = store.overdue_verifications(scope=scope, region=within, today=ctx.today)
    else:
        limit = ctx.settings.stage_limits.get(stage.value)
        # a stage without a limit (a draft, a case waiting for its materials) is never overdue
        stmt = (
            None
            if limit is None
            else store.overdue(
                scope=scope,
                region=within,
                stage=stage,
                started_before=ctx.settings.calendar.back(ctx.today, limit),
            )
        )
    return await household_page(
        info, stmt, key=models.Household.status_changed_at, first=first, after=after
    )


async def statistics(info: Info, period: str, region: str | None = None) -> PeriodStatistics:
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
    return PeriodStatistics(period=period, found=found)
