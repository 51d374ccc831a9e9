"""Timeliness (时效性) and statistics, always inside the caller's region scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import beijing_midnight
from domain.enums import Category, HouseholdStatus
from domain.verification import VerificationStatus
from domain.workflow import WRITTEN_DECISION_STAGES, Step
from store.households import category_clause, code_prefix, in_scope
from store.models import Household, Payment, Review, VerificationRequest

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def overdue(
    *,
    scope: str,
    region: str | None,
    stage: HouseholdStatus,
    started_before: dt.date,
) -> Select[Household]:
    """Households in `stage` whose clock started before `started_before`, in scope.

    The caller turns the stage's limit in working days into that day. The clock of
    NOTICE starts when the notice ends; the clock of a refusal or a termination
    stops once its written notice is recorded.
    """
    stmt = select(Household).where(in_scope(scope), Household.status == stage.value)
    if stage is HouseholdStatus.NOTICE:
        # the county decides within its limit of the notice's end (the first day a
        # decision may be taken; the limit counts from the last day of the notice)
        stmt = stmt.where(Household.notice_ends_on <= started_before)
    else:
        stmt = stmt.where(Household.status_changed_at < beijing_midnight(started_before))
    if stage.value in WRITTEN_DECISION_STAGES:
        written = select(Review.id).where(
            Review.archive_no == Household.archive_no,
            Review.step == Step.WRITTEN_DECISION.value,
            Review.created_at >= Household.status_changed_at,
        )
        stmt = stmt.where(~written.exists())
    if region:
        stmt = stmt.where(code_prefix(Household.village_code, region))
    return stmt


def overdue_verifications(*, scope: str, region: str | None, today: dt.date) -> Select[Household]:
    """Households, in scope, with a request to a partner department still pending after
    its due date (working days, set when it was sent)."""
    late = select(VerificationRequest.id).where(
        VerificationRequest.archive_no == Household.archive_no,
        VerificationRequest.status == VerificationStatus.PENDING.value,
        VerificationRequest.due_on < today,
    )
    stmt = select(Household).where(in_scope(scope), late.exists())
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
