"""Timeliness (时效性) and statistics, always inside the caller's region scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import beijing_midnight
from domain.enums import Category, HouseholdStatus
from domain.verification import VerificationStatus
from domain.workflow import WRITTEN_DECISION_STAGES, Step
from store.households import code_prefix, in_scope, member_in_category
from store.models import (
    Household,
    HouseholdTally,
    Member,
    Payment,
    PaymentTally,
    Review,
    VerificationRequest,
)

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])
COUNTY_DIGITS = 6


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


def tallied(scope: str, region: str | None) -> str | None:
    """The archive-number prefix `statistics` reads from the kept tallies, "" for the
    nation; None where it reads the households themselves: a scope narrower than a
    county (the tallies are per county), or a region outside the scope."""
    prefixes = [p for p in (scope, region) if p]
    narrowest = max(prefixes, key=len, default="")
    if len(narrowest) > COUNTY_DIGITS or not all(narrowest.startswith(p) for p in prefixes):
        return None
    return narrowest


def county_rows(stmt: Q, column: Any, prefix: str) -> Q:
    """The tallies' rows of the counties under `prefix` (all of them for "")."""
    return stmt.where(code_prefix(column, prefix)) if prefix else stmt


@dataclass(frozen=True, slots=True)
class Statistics:
    by_status: list[tuple[str, str, int]]  # area, status, households
    by_category: list[tuple[str, int]]  # category, active households
    payments: list[tuple[str, str, int, Decimal]]  # area, status, payments, amount


async def statistics(
    session: AsyncSession, *, scope: str, region: str | None, period: str, today: dt.date
) -> Statistics:
    """Three statements, added up in SQL.

    For a county or wider, the households by status and the month's payments are
    the counties' kept tallies (migration 0026) added up: a province costs its
    counties' rows, not its households. Below a county, and for the categories
    (which follow the day: a member turns 60), each is one pass over the scope's
    rows. Scope and region are ranges of the archive number (which begins with the
    village code), so the scoped indexes of migration 0021 serve each pass;
    payments carry the same archive number and are narrowed by their own index
    before the join. Money sums are exact on both backends: numeric on
    PostgreSQL, integer cents on SQLite (`Money`), converted back by the column
    type.
    """

    def scoped(stmt: Q, *columns: Any) -> Q:
        # the same range as `in_scope`, on the household's archive number and on that of
        # each row joined to it (equal by the join): the planner does not carry a range
        # across a join, and without it read the whole members or households table
        for column in (Household.archive_no, *columns):
            for prefix in (scope, region):
                if prefix:
                    stmt = stmt.where(code_prefix(column, prefix))
        return stmt

    county = tallied(scope, region)
    if county is not None:
        # a county or wider: its counties' kept tallies (migration 0026), added up
        by_status = await session.execute(
            county_rows(
                select(
                    HouseholdTally.area, HouseholdTally.status, func.sum(HouseholdTally.households)
                )
                .group_by(HouseholdTally.area, HouseholdTally.status)
                .having(func.sum(HouseholdTally.households) > 0)
                .order_by(HouseholdTally.area, HouseholdTally.status),
                HouseholdTally.county_code,
                county,
            )
        )
    else:
        by_status = await session.execute(
            scoped(
                select(Household.area, Household.status, func.count())
                .group_by(Household.area, Household.status)
                .order_by(Household.area, Household.status)
            )
        )
    # one row per active household with a 0/1 flag per category, from one merge of
    # households and their members; then the flags summed: all four in one statement
    flags = (
        scoped(
            select(
                *(
                    func.max(case((member_in_category(c, today), 1), else_=0)).label(c.value)
                    for c in Category
                )
            )
            .select_from(Household)
            .join(Member, Member.archive_no == Household.archive_no)
            .where(Household.status == HouseholdStatus.ACTIVE.value, Member.active)
            .group_by(Household.archive_no),
            Member.archive_no,
        )
    ).subquery()
    counted = (
        await session.execute(
            select(*(func.coalesce(func.sum(flags.c[c.value]), 0) for c in Category))
        )
    ).one()
    if county is not None:
        amounts = await session.execute(
            county_rows(
                select(
                    PaymentTally.area,
                    PaymentTally.status,
                    func.sum(PaymentTally.payments),
                    func.sum(PaymentTally.amount),
                )
                .where(PaymentTally.period == period)
                .group_by(PaymentTally.area, PaymentTally.status)
                .having(func.sum(PaymentTally.payments) > 0)
                .order_by(PaymentTally.area, PaymentTally.status),
                PaymentTally.county_code,
                county,
            )
        )
    else:
        amounts = await session.execute(
            scoped(
                select(Household.area, Payment.status, func.count(), func.sum(Payment.amount))
                .select_from(Payment)
                .join(Household, Household.archive_no == Payment.archive_no)
                .where(Payment.period == period)
                .group_by(Household.area, Payment.status)
                .order_by(Household.area, Payment.status),
                Payment.archive_no,
            )
        )
    return Statistics(
        by_status=[(a, s, int(n)) for a, s, n in by_status.all()],
        by_category=[(c.value, int(n)) for c, n in zip(Category, counted, strict=True)],
        payments=[(a, s, int(n), t) for a, s, n, t in amounts.all()],
    )
