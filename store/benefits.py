"""The benefit history (benefit_history) as a timeline the payment batch reads.

The batch pays, for each month, the entry in force on the month's last day (the
latest `effective_from`, then the latest made). An entry is computed on the
household as it was when it was made, so a decision that changes the amount from
a day D must also restate every entry that starts after D: those were computed on
the household before the decision and would otherwise win again from their dates.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.benefit import monthly_benefit
from domain.enums import Area
from store.households import standards_in_force
from store.models import BenefitHistory, Household, Standard


async def later_entries(
    session: AsyncSession, *, archive_nos: Sequence[str], after: dt.date
) -> dict[str, list[dt.date]]:
    """The dates after `after` from which each household's history already changes."""
    found: dict[str, set[dt.date]] = defaultdict(set)
    for start in range(0, len(archive_nos), 500):
        rows = await session.execute(
            select(BenefitHistory.archive_no, BenefitHistory.effective_from).where(
                BenefitHistory.archive_no.in_(archive_nos[start : start + 500]),
                BenefitHistory.effective_from > after,
            )
        )
        for archive_no, day in rows.all():
            found[archive_no].add(day)
    return {archive_no: sorted(days) for archive_no, days in found.items()}


def record(
    session: AsyncSession,
    archive_no: str,
    amount: Decimal,
    *,
    days: Sequence[dt.date],
    reason: str,
    actor: str,
) -> None:
    for day in days:
        session.add(
            BenefitHistory(
                archive_no=archive_no,
                amount=amount,
                effective_from=day,
                reason=reason,
                created_by=actor,
            )
        )


async def grant_from(
    session: AsyncSession,
    household: Household,
    incomes: Sequence[Decimal],
    *,
    on: dt.date,
    reason: str,
    actor: str,
) -> Decimal | None:
    """The benefit on the household's members and incomes from `on`, at the standard
    in force that day, and again from each later day a standard already set or an
    entry already made changes it (each at the standard in force then). A later
    standard under which the household is above the line writes nothing: that is
    the standard's re-review to decide, not a zero to pay.

    Returns the amount from `on`; None when no standard is in force that day.
    """
    county, area = household.village_code[:6], Area(household.area)
    starts = await session.scalars(
        select(Standard.effective_from).where(
            Standard.county_code == county,
            Standard.area == area.value,
            Standard.effective_from > on,
            # a withdrawn standard ends before it starts: never in force
            or_(Standard.effective_to.is_(None), Standard.effective_to >= Standard.effective_from),
        )
    )
    later = await later_entries(session, archive_nos=[household.archive_no], after=on)
    first: Decimal | None = None
    for day in sorted({on, *starts.all(), *later.get(household.archive_no, [])}):
        standard = await standards_in_force(session, county_code=county, area=area, on=day)
        if standard is None:
            continue
        amount = monthly_benefit(standard.monthly_amount, incomes)
        if day == on:
            first = amount
        elif amount <= 0:
            continue
        record(session, household.archive_no, amount, days=[day], reason=reason, actor=actor)
    return first
