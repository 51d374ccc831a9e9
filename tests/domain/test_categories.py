from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.categories import (
    MemberFacts,
    age_on,
    elderly_born_on_or_before,
    household_categories,
    member_categories,
    minor_born_after,
)
from domain.enums import Category
from domain.errors import InvalidInput

TODAY = date(2024, 6, 15)


def _member(birth: date, grade: int | None = None, ill: bool = False) -> MemberFacts:
    return MemberFacts(birth_date=birth, disability_grade=grade, serious_illness=ill)


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2000, 6, 15), date(2024, 6, 15), 24),
        (date(2000, 6, 16), date(2024, 6, 15), 23),
        (date(2000, 6, 14), date(2024, 6, 15), 24),
        (date(2024, 6, 15), date(2024, 6, 15), 0),
        (date(2000, 2, 29), date(2023, 2, 28), 22),  # no 29 Feb: birthday is 1 March
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(1999, 12, 31), date(2000, 1, 1), 0),
        (date(1999, 12, 31), date(2000, 12, 31), 1),
    ],
)
def test_age_on(birth: date, today: date, age: int) -> None:
    assert age_on(birth, today) == age


def test_age_on_refuses_future_birth() -> None:
    with pytest.raises(ValueError, match="after"):
        age_on(date(2024, 6, 16), TODAY)


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (date(1964, 6, 15), {Category.ELDERLY}),  # 60th birthday today
        (date(1964, 6, 16), set()),  # 60 tomorrow
        (date(2006, 6, 15), set()),  # 18th birthday today
        (date(2006, 6, 16), {Category.MINOR}),  # 18 tomorrow
        (date(2024, 6, 15), {Category.MINOR}),  # born today
        (date(1930, 1, 1), {Category.ELDERLY}),
    ],
)
def test_age_categories_on_exact_birthdays(birth: date, expected: set[Category]) -> None:
    assert member_categories(_member(birth), TODAY) == expected


@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_disabled(grade: int) -> None:
    assert member_categories(_member(date(1990, 1, 1), grade=grade), TODAY) == {Category.DISABLED}


@pytest.mark.parametrize("grade", [0, 5, -1])
def test_disability_grade_outside_1_to_4_is_refused(grade: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        _member(date(1990, 1, 1), grade=grade)
    assert caught.value.field == "disabilityGrade"


def test_seriously_ill_and_combinations() -> None:
    member = _member(date(1950, 1, 1), grade=2, ill=True)
    assert member_categories(member, TODAY) == {
        Category.DISABLED,
        Category.ELDERLY,
        Category.SERIOUSLY_ILL,
    }
    assert member_categories(_member(date(2015, 1, 1), ill=True), TODAY) == {
        Category.MINOR,
        Category.SERIOUSLY_ILL,
    }


def test_household_categories_is_the_union() -> None:
    members = [
        _member(date(1990, 1, 1)),
        _member(date(1950, 1, 1)),
        _member(date(2015, 1, 1), grade=1),
    ]
    result = household_categories(members, TODAY)
    assert isinstance(result, frozenset)
    assert result == {Category.ELDERLY, Category.MINOR, Category.DISABLED}
    assert household_categories(iter(members), TODAY) == result  # any iterable
    assert household_categories([], TODAY) == frozenset()
    assert household_categories([_member(date(1990, 1, 1))], TODAY) == frozenset()


BOUNDARY_DAYS = [
    date(2024, 6, 15),
    date(2023, 2, 28),
    date(2023, 3, 1),
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2022, 2, 28),  # 18 years after leap year 2004
    date(2022, 3, 1),
    date(2060, 2, 29),  # 60 years after leap year 2000
    date(2160, 2, 29),  # 60 years after 2100, which is not a leap year
    date(2118, 2, 28),  # 18 years after 2100
    date(2024, 1, 1),
    date(2024, 12, 31),
]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@pytest.mark.parametrize("today", BOUNDARY_DAYS)
def test_elderly_boundary_agrees_with_age_on(today: date) -> None:
    boundary = elderly_born_on_or_before(today)
    assert age_on(boundary, today) >= 60
    assert age_on(boundary + timedelta(days=1), today) < 60
    window = _days(boundary - timedelta(days=400), boundary + timedelta(days=400))
    for birth in window:
        assert (age_on(birth, today) >= 60) == (birth <= boundary), birth
        is_elderly = Category.ELDERLY in member_categories(_member(birth), today)
        assert is_elderly == (birth <= boundary), birth


@pytest.mark.parametrize("today", BOUNDARY_DAYS)
def test_minor_boundary_agrees_with_age_on(today: date) -> None:
    boundary = minor_born_after(today)
    assert age_on(boundary, today) >= 18
    assert age_on(boundary + timedelta(days=1), today) < 18
    window = _days(boundary - timedelta(days=400), min(today, boundary + timedelta(days=400)))
    for birth in window:
        assert (age_on(birth, today) < 18) == (birth > boundary), birth
        is_minor = Category.MINOR in member_categories(_member(birth), today)
        assert is_minor == (birth > boundary), birth


@pytest.mark.parametrize(
    ("today", "elderly", "minor"),
    [
        (date(2024, 6, 15), date(1964, 6, 15), date(2006, 6, 15)),
        (date(2024, 2, 29), date(1964, 2, 29), date(2006, 2, 28)),
        (date(2160, 2, 29), date(2100, 2, 28), date(2142, 2, 28)),
        (date(2023, 2, 28), date(1963, 2, 28), date(2005, 2, 28)),
    ],
)
def test_boundaries_explicitly(today: date, elderly: date, minor: date) -> None:
    assert elderly_born_on_or_before(today) == elderly
    assert minor_born_after(today) == minor


def test_leap_day_birthday_turns_18_on_1_march_in_common_years() -> None:
    born = date(2004, 2, 29)
    assert Category.MINOR in member_categories(_member(born), date(2022, 2, 28))
    assert Category.MINOR not in member_categories(_member(born), date(2022, 3, 1))
    assert born > minor_born_after(date(2022, 2, 28))
    assert born <= minor_born_after(date(2022, 3, 1))
