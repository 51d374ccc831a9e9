"""`drawSpotCheck`: a county reviewer draws the month's spot check of township reviews."""

from __future__ import annotations

from decimal import Decimal

from domain.spotcheck import check_share
from resolvers.context import Info
from store import spotchecks as store
from store.periods import parse_period


async def draw_spot_check(
    info: Info, county_code: str, period: str, share: Decimal | None = None
) -> store.Drawn:
    parse_period(period)
    value = check_share(share)
    ctx = info.context
    async with ctx.writing() as session:
        found = await store.draw_spot_check(
            session,
            county=county_code,
            period=period,
            share=value,
            scope=ctx.principal.scope,
            actor=ctx.principal.name,
            now=ctx.now,
        )
    ctx.touched.update(found.drawn)
    return found
