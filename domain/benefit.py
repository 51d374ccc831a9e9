"""Money and the benefit formula (补差).

Money is `Decimal` with two places, never float: a float cannot hold 0.01
exactly, and cents lost in a monthly batch add up. All arithmetic runs in a
fixed context so an ambient `decimal` setting elsewhere cannot change a result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

from domain.enums import HouseholdStatus
from domain.errors import InvalidInput

__all__ = [
    "CENT",
    "MARGINAL_MULTIPLE",
    "Earner",
    "benefit_of",
    "granted_benefit",
    "is_eligible",
    "is_marginal",
    "monthly_benefit",
    "next_month_start",
    "per_capita_income",
    "single_person_benefit",
    "to_money",
    "under_edge_line",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_CTX = Context(prec=28, rounding=ROUND_HALF_UP, traps=[InvalidOperation])
_FIELD = "amount"


def _checked(value: Decimal) -> Decimal:
    """Refuse what is not an amount of money: non-Decimal, NaN, infinite or negative."""
    if not isinstance(value, Decimal):
        raise TypeError("money must be Decimal, int or str, never float")
    if not value.is_finite():
        raise InvalidInput(f"{_FIELD}: must be a finite number", field=_FIELD)
    if value < 0:
        raise InvalidInput(f"{_FIELD}: must not be negative", field=_FIELD)
    return value


def _cents(value: Decimal) -> Decimal:
    try:
        return value.quantize(CENT, context=_CTX).copy_abs()  # copy_abs: no "-0.00"
    except InvalidOperation:
        raise InvalidInput(f"{_FIELD}: too large", field=_FIELD) from None


def to_money(value: Decimal | int | str) -> Decimal:
    """Convert to yuan with two places, rounding half up as cashiers do."""
    if isinstance(value, float | bool):
        raise TypeError("money must be Decimal, int or str, never float")
    if isinstance(value, str | int):
        try:
            value = Decimal(value)
        except InvalidOperation:
            raise InvalidInput(f"{_FIELD}: not a number", field=_FIELD) from None
    return _cents(_checked(value))


def _total(incomes: Sequence[Decimal]) -> Decimal:
    if not incomes:
        raise InvalidInput("members: a household needs at least one member", field="members")
    with localcontext(_CTX):
        return sum((_checked(i) for i in incomes), Decimal(0))


def per_capita_income(incomes: Sequence[Decimal]) -> Decimal:
    """Monthly household income per member, to the cent (for display and statistics)."""
    total = _total(incomes)
    with localcontext(_CTX):
        return _cents(total / len(incomes))


def is_eligible(standard: Decimal, incomes: Sequence[Decimal]) -> bool:
    """Per-capita income strictly below the standard, compared exactly (sum < standard × n)
    rather than on the rounded per-capita figure, so eligibility and a positive
    benefit always agree."""
    total = _total(incomes)
    with localcontext(_CTX):
        return total < _checked(standard) * len(incomes)


def monthly_benefit(standard: Decimal, incomes: Sequence[Decimal]) -> Decimal:
    """(standard − per-capita income) × members, computed as standard × n − sum so no
    rounding happens before the end; 0.00 when not eligible, never negative."""
    return benefit_of(standard, members=len(incomes), income=_total(incomes))


def benefit_of(standard: Decimal, *, members: int, income: Decimal) -> Decimal:
    """The same formula on a household's figures: its size and its total monthly income
    (kept with each benefit entry, so a later standard recomputes a month on the
    household as it was then)."""
    if members < 1:
        raise InvalidInput("members: a household needs at least one member", field="members")
    with localcontext(_CTX):
        gap = _checked(standard) * members - _checked(income)
    return _cents(gap) if gap > 0 else ZERO


# 低保边缘家庭 (民发〔2021〕57号): per-capita income under this multiple of the local
# standard; a county may configure its own (DIBAO_MARGINAL_MULTIPLE)
MARGINAL_MULTIPLE = Decimal("1.5")
# refused, or leaving the cover: the households an edge-family register follows
MARGINAL_STATUSES = frozenset(
    {HouseholdStatus.REJECTED, HouseholdStatus.GRADUAL_EXIT, HouseholdStatus.TERMINATED}
)


def under_edge_line(standard: Decimal, incomes: Sequence[Decimal], multiple: Decimal) -> bool:
    """Per-capita income strictly below multiple × standard, compared exactly as
    `is_eligible` compares (sum < multiple × standard × n)."""
    total = _total(incomes)
    with localcontext(_CTX):
        return total < _checked(standard) * _checked(multiple) * len(incomes)


def is_marginal(
    status: HouseholdStatus, standard: Decimal, incomes: Sequence[Decimal], multiple: Decimal
) -> bool:
    """A low-income edge family (低保边缘家庭): refused or leaving, and under the edge line."""
    return status in MARGINAL_STATUSES and under_edge_line(standard, incomes, multiple)


def single_person_benefit(standard: Decimal, covered: Sequence[Decimal]) -> Decimal:
    """单人保: each covered member is treated as a one-person household (参照单人户), so
    the benefit is the sum of each one's own gap to the standard, never negative."""
    with localcontext(_CTX):
        gaps = (_checked(standard) - _checked(income) for income in covered)
        total = sum((gap for gap in gaps if gap > 0), Decimal(0))
    return _cents(total) if total > 0 else ZERO


@dataclass(frozen=True, slots=True)
class Earner:
    """A current member as the benefit sees them: income, and whether named for 单人保."""

    income: Decimal
    covered: bool = False


def granted_benefit(
    standard: Decimal, members: Sequence[Earner], *, marginal_multiple: Decimal
) -> Decimal | None:
    """The monthly benefit a decision grants, or None when the household is not eligible.

    Without covered members, the whole household: eligible below the standard. With
    covered members (单人保), those members only, and only while the household's
    per-capita income stays under the edge line; a benefit of nothing is no cover.
    """
    incomes = [m.income for m in members]
    covered = [m.income for m in members if m.covered]
    if not covered:
        return monthly_benefit(standard, incomes) if is_eligible(standard, incomes) else None
    if not under_edge_line(standard, incomes, marginal_multiple):
        return None
    amount = single_person_benefit(standard, covered)
    return amount if amount > 0 else None


def next_month_start(day: dt.date) -> dt.date:
    """When a decision taken on `day` changes the money: the first day of the next
    month (《最低生活保障审核确认办法》: granted, raised or lowered from the month
    after the decision, 下月起), so the month of the decision is paid as it was."""
    return dt.date(day.year + 1, 1, 1) if day.month == 12 else dt.date(day.year, day.month + 1, 1)
