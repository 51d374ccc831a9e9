"""Local standards: read by staff, set by the county's reviewers (by default policy)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.benefit import to_money
from domain.enums import Area
from domain.errors import InvalidInput
from domain.region import in_scope
from resolvers.context import Info
from store import models
from store import standards as store

# how far from the request's date a standard may start: far enough to backdate a
# late decision or announce the next year's, near enough that a typing mistake
# (9999) cannot lock the county's track against every later standard
EFFECTIVE_WINDOW = dt.timedelta(days=366)


def _county(info: Info, county_code: str, *, reading: bool = False) -> str:
    """A county the caller may act on: inside its scope. Reading also allows the
    county that contains the caller's scope (a township reads its own county's)."""
    if len(county_code) != 6 or not (county_code.isascii() and county_code.isdigit()):
        raise InvalidInput("countyCode: six digits", field="countyCode")
    scope = info.context.principal.scope
    if not (in_scope(county_code, scope) or (reading and in_scope(scope, county_code))):
        raise InvalidInput("countyCode: no such county in your region", field="countyCode")
    return county_code


def _effective(info: Info, effective_from: dt.date) -> dt.date:
    today = info.context.today
    earliest, latest = today - EFFECTIVE_WINDOW, today + EFFECTIVE_WINDOW
    if not earliest <= effective_from <= latest:
        raise InvalidInput(
            f"effectiveFrom: between {earliest} and {latest}, within a year of today "
            "(生效日期须在前后一年之内)",
            field="effectiveFrom",
        )
    return effective_from


async def standards(info: Info, county_code: str) -> list[models.Standard]:
    county = _county(info, county_code, reading=True)
    async with info.context.reading() as session:
        return list(await store.list_standards(session, county_code=county))


async def set_standard(
    info: Info, county_code: str, area: Area, monthly_amount: Decimal, effective_from: dt.date
) -> store.StandardChange:
    county = _county(info, county_code)
    effective_from = _effective(info, effective_from)
    amount = to_money(monthly_amount)
    if amount <= 0 or amount > Decimal("100000"):
        raise InvalidInput("monthlyAmount: a positive amount in yuan", field="monthlyAmount")
    ctx = info.context
    async with ctx.writing() as session:
        change = await store.set_standard(
            session,
            county_code=county,
            area=area,
            amount=amount,
            effective_from=effective_from,
            today=ctx.today,
            actor=ctx.principal.name,
            marginal_multiple=ctx.settings.marginal_multiple,
        )
    ctx.touched.update(change.flagged)
    return change
