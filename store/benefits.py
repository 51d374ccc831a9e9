"""The benefit history (benefit_history) as a timeline the payment batch reads.

The batch pays, for each month, the entry in force on the month's last day (the
latest `effective_from`, then the latest made). Each entry keeps the household it
was computed on (size and total income), so a decision that changes the amount
from a day D restates every entry in force from D on: those were computed before
the decision and would otherwise win again from their own dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.benefit import benefit_of, single_person_benefit
from domain.enums import Area
from store.households import standards_in_force
from store.models import BenefitHistory, Household, Standard

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Figures:
    """What an amount is computed on: the household's size and total monthly income,
    and under single-person cover (单人保) each covered member's own income."""

    members: int
    income: Decimal
    covered: tuple[Decimal, ...] = ()

    @classmethod
    def of(cls, incomes: Sequence[Decimal], covered: Sequence[Decimal] = ()) -> Figures:
        return cls(
            members=len(incomes), income=sum(incomes, Decimal("0.00")), covered=tuple(covered)
        )

    @classmethod
    def kept(cls, entry: Any) -> Figures:
        """The figures a benefit entry kept (`members` is not None)."""
        covered = tuple(Decimal(v) for v in entry.covered_incomes or ())
        return cls(members=entry.members, income=entry.income, covered=covered)

    def benefit(self, standard: Decimal) -> Decimal:
        if self.covered:
            return single_person_benefit(standard, self.covered)
        return benefit_of(standard, members=self.members, income=self.income)


def record(
    session: AsyncSession,
    archive_no: str,
    amount: Decimal,
    *,
    day: dt.date,
    figures: Figures | None,
    reason: str,
    actor: str,
) -> None:
    session.add(entry(archive_no, amount, day=day, figures=figures, reason=reason, actor=actor))


def entry(
    archive_no: str,
    amount: Decimal,
    *,
    day: dt.date,
    figures: Figures | None,
    reason: str,
    actor: str,
    now: dt.datetime | None = None,
) -> BenefitHistory:
    """One benefit entry; the bulk import writes these in batches instead of adding them."""
    return BenefitHistory(
        archive_no=archive_no,
        amount=amount,
        effective_from=day,
        members=None if figures is None else figures.members,
        income=None if figures is None else figures.income,
        covered_incomes=(
            [str(v) for v in figures.covered] if figures is not None and figures.covered else None
        ),
        reason=reason,
        created_by=actor,
        **({} if now is None else {"created_at": now}),
    )


def in_force_from(entries: Iterable[Any], on: dt.date) -> list[tuple[dt.date, Any]]:
    """The entry in force on `on`, and from each later day an entry starts, the one in
    force from then (the batch's rule: latest start, then latest made)."""
    ordered = sorted(entries, key=lambda e: (e.effective_from, e.created_at, e.id))
    timeline: dict[dt.date, Any] = {}
    for entry in ordered:
        timeline[max(entry.effective_from, on)] = entry  # the later made wins a day
    return sorted(timeline.items(), key=lambda item: item[0])


async def history_of(session: AsyncSession, archive_nos: Sequence[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for start in range(0, len(archive_nos), CHUNK):
        rows = await session.execute(
            select(
                BenefitHistory.id,
                BenefitHistory.archive_no,
                BenefitHistory.amount,
                BenefitHistory.effective_from,
                BenefitHistory.created_at,
                BenefitHistory.members,
                BenefitHistory.income,
                BenefitHistory.covered_incomes,
            ).where(BenefitHistory.archive_no.in_(archive_nos[start : start + CHUNK]))
        )
        for row in rows.all():
            found.setdefault(row.archive_no, []).append(row)
    return found


async def grant_from(
    session: AsyncSession,
    household: Household,
    figures: Figures,
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
    later = await session.scalars(
        select(BenefitHistory.effective_from).where(
            BenefitHistory.archive_no == household.archive_no, BenefitHistory.effective_from > on
        )
    )
    first: Decimal | None = None
    for day in sorted({on, *starts.all(), *later.all()}):
        standard = await standards_in_force(session, county_code=county, area=area, on=day)
        if standard is None:
            continue
        amount = figures.benefit(standard.monthly_amount)
        if day == on:
            first = amount
        elif amount <= 0:
            continue
        record(
            session,
            household.archive_no,
            amount,
            day=day,
            figures=figures,
            reason=reason,
            actor=actor,
        )
    return first


def restate_at_standard(
    session: AsyncSession,
    archive_no: str,
    entries: Sequence[Any],
    *,
    standard: Decimal,
    on: dt.date,
    now: Figures,
    reason: str,
    actor: str,
) -> None:
    """A new standard from `on` (the track's last: a new standard withdraws those
    after it): every entry in force from `on` is recomputed at it on the household
    it was computed on (the current one for an entry that did not keep it), so a
    month is due what the new standard gives the household of that month. An amount
    that would be zero is not written: the household's re-review decides."""
    timeline = in_force_from(entries, on)
    if not timeline:
        timeline = [(on, None)]
    for day, entry in timeline:
        kept = None if entry is None or entry.members is None else entry
        figures = now if kept is None else Figures.kept(kept)
        amount = figures.benefit(standard)
        if amount <= 0 or (entry is not None and entry.amount == amount):
            continue
        record(session, archive_no, amount, day=day, figures=figures, reason=reason, actor=actor)


def in_force_amount(archive_no: Any, *, on: dt.date) -> Any:
    """The amount in force on `on` for the household named by `archive_no` (a column
    of the enclosing query): the batch's one rule for what a month is due."""
    return (
        select(BenefitHistory.amount)
        .where(BenefitHistory.archive_no == archive_no, BenefitHistory.effective_from <= on)
        .order_by(
            BenefitHistory.effective_from.desc(),
            BenefitHistory.created_at.desc(),
            BenefitHistory.id.desc(),
        )
        .limit(1)
        .scalar_subquery()
    )
