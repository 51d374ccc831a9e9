"""The statistics' tallies (migration 0026): households per county, track and status,
and payments per county, month, track and status, kept by database triggers.

A seed on PostgreSQL loads with the triggers off (`dibao.tallies_deferred`: their
join of each COPY's payments to the households would find no key while the keys are
dropped) and counts the tallies afresh once loaded, in its transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.models import Household, HouseholdTally, Payment, PaymentTally

__all__ = ["DEFERRED_SETTING", "counted_households", "counted_payments", "recount"]

DEFERRED_SETTING = "dibao.tallies_deferred"


def counted_households() -> Select[Any]:
    """The household tallies, counted from the households themselves."""
    county = func.substr(Household.archive_no, 1, 6)
    return select(county, Household.area, Household.status, func.count()).group_by(
        county, Household.area, Household.status
    )


def counted_payments() -> Select[Any]:
    """The payment tallies, counted from the payments and their households."""
    county = func.substr(Payment.archive_no, 1, 6)
    return (
        select(county, Payment.period, Household.area, Payment.status, func.count(),
               func.sum(Payment.amount))
        .join(Household, Household.archive_no == Payment.archive_no)
        .group_by(county, Payment.period, Household.area, Payment.status)
    )  # fmt: skip


async def recount(conn: AsyncConnection) -> None:
    """Both tallies afresh, from the archive as it stands."""
    await conn.execute(delete(HouseholdTally))
    await conn.execute(delete(PaymentTally))
    columns = HouseholdTally.__table__.c
    await conn.execute(
        insert(HouseholdTally).from_select(
            [columns.county_code, columns.area, columns.status, columns.households],
            counted_households(),
        )
    )
    paid = PaymentTally.__table__.c
    await conn.execute(
        insert(PaymentTally).from_select(
            [paid.county_code, paid.period, paid.area, paid.status, paid.payments, paid.amount],
            counted_payments(),
        )
    )
