"""Timeliness (时效性) and statistics, always inside the caller's region scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Category, HouseholdStatus
from store.households import category_clause, code_prefix, in_scope
from store.models import Household, Payment

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def overdue(
    *,
    scope: str,
    region: str | None,
    stage: HouseholdStatus,
    now: dt.datetime,
    limits: dict[str, int],
) -> Select[Household] | None:
    """Households in `stage` longer than its time limit, in scope (None: no limit set)."""
    limit = limits.get(stage.value)
    if limit is None:
        return None
    stmt = select(Household).where(
        in_scope(scope),
        Household.status == stage.value,
        Household.status_changed_at < now - dt.timedelta(days=limit),
    )
    if region:
        stmt = stmt.where(code_prefix(Household.village_code, region))
    return stmt


@dataclass(frozen=True, slots=True)
class Statistics:
    by_status: list[tuple[str, str, int]]  # area, status, households
    by_category: list[tuple[str, int]]  # category, active households
    payments: list[tuple[str, str, int, Decimal]]  # area, status, payments, amount


async def statistics(
    session: AsyncSession, *, scope: str, region: str | None, period: str, today: dt.date
) -> Statistics:
    def scoped(stmt: Q) -> Q:
        stmt = stmt.where(in_scope(scope))
        return stmt.where(code_prefix(Household.village_code, region)) if region else stmt

    by_status = await session.execute(
        scoped(
            select(Household.area, Household.status, func.count())
            .group_by(Household.area, Household.status)
            .order_by(Household.area, Household.status)
        )
    )
    categories = []
    for category in Category:
        count = await session.scalar(
            scoped(
                select(func.count())
                .select_from(Household)
                .where(
                    Household.status == HouseholdStatus.ACTIVE.value,
                    category_clause(category, today),
                )
            )
        )
        categories.append((category.value, int(count or 0)))
    amounts: dict[tuple[str, str], tuple[int, Decimal]] = {}
    rows = await session.execute(
        scoped(
            select(Household.area, Payment.status, Payment.amount)
            .join(Household, Household.archive_no == Payment.archive_no)
            .where(Payment.period == period)
        )
    )
    for area, status, amount in rows.all():  # summed in Python: exact on both backends
        count, total = amounts.get((area, status), (0, Decimal("0.00")))
        amounts[(area, status)] = (count + 1, total + amount)
    return Statistics(
        by_status=[(a, s, int(n)) for a, s, n in by_status.all()],
        by_category=categories,
        payments=[(a, s, n, t) for (a, s), (n, t) in sorted(amounts.items())],
    )
