"""Money and the benefit formula (补差).

Money is `Decimal` with two places, never float: a float cannot hold 0.01
exactly, and cents lost in a monthly batch add up. All arithmetic runs in a
fixed context so an ambient `decimal` setting elsewhere cannot change a result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

from domain.errors import InvalidInput

__all__ = [
    "CENT",
    "benefit_of",
    "is_eligible",
    "monthly_benefit",
    "next_month_start",
    "per_capita_income",
    "to_money",
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


def next_month_start(day: dt.date) -> dt.date:
    """When a decision taken on `day` changes the money: the first day of the next
    month (《最低生活保障审核确认办法》: granted, raised or lowered from the month
    after the decision, 下月起), so the month of the decision is paid as it was."""
    return dt.date(day.year + 1, 1, 1) if day.month == 12 else dt.date(day.year, day.month + 1, 1)
