"""Special archives (专项档案): categories derived from a household's members.

Categories are computed, never stored by hand, so they cannot drift from the
members. Ages are full years (周岁) with the birthday counted on the day itself;
someone born on 29 February has a birthday on 1 March in common years. The
birth-date boundaries below follow the same rule so the store can filter in
SQL and get exactly what `age_on` would say.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from domain.enums import Category
from domain.errors import InvalidInput

__all__ = [
    "ELDERLY_AGE",
    "MINOR_AGE",
    "MemberFacts",
    "age_on",
    "elderly_born_on_or_before",
    "household_categories",
    "member_categories",
    "minor_born_after",
]

ELDERLY_AGE = 60
MINOR_AGE = 18
DISABILITY_GRADES = range(1, 5)


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """The member facts categories depend on, and nothing more."""

    birth_date: date
    disability_grade: int | None
    serious_illness: bool

    def __post_init__(self) -> None:
        if self.disability_grade is not None and self.disability_grade not in DISABILITY_GRADES:
            raise InvalidInput(
                "disabilityGrade: must be 1, 2, 3, 4 or absent", field="disabilityGrade"
            )


def age_on(birth_date: date, today: date) -> int:
    """Full years on `today`. Raises ValueError for a birth date after `today`."""
    if birth_date > today:
        raise ValueError("birth date is after the reference date")
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def _years_before(today: date, years: int) -> date:
    """The latest birth date whose holder is `years` old on `today`.

    On 29 February of a leap year with a common target year, people born on
    28 February have had their birthday and those born on 1 March have not.
    """
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return date(today.year - years, 2, 28)


def elderly_born_on_or_before(today: date) -> date:
    """ELDERLY ⇔ birth_date <= this date."""
    return _years_before(today, ELDERLY_AGE)


def minor_born_after(today: date) -> date:
    """MINOR ⇔ birth_date > this date."""
    return _years_before(today, MINOR_AGE)


def member_categories(m: MemberFacts, today: date) -> frozenset[Category]:
    """The special archives one member puts a household into."""
    age = age_on(m.birth_date, today)
    found: set[Category] = set()
    if m.disability_grade is not None:
        found.add(Category.DISABLED)
    if age >= ELDERLY_AGE:
        found.add(Category.ELDERLY)
    if age < MINOR_AGE:
        found.add(Category.MINOR)
    if m.serious_illness:
        found.add(Category.SERIOUSLY_ILL)
    return frozenset(found)


def household_categories(members: Iterable[MemberFacts], today: date) -> frozenset[Category]:
    """A household is in a category when any of its members is."""
    found: frozenset[Category] = frozenset()
    for member in members:
        found |= member_categories(member, today)
    return found
