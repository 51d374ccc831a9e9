from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, localcontext

import pytest

from domain.benefit import CENT, is_eligible, monthly_benefit, per_capita_income, to_money
from domain.errors import InvalidInput

D = Decimal


def _is_cents(value: Decimal) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1"), "1.00"),
        (D("0.005"), "0.01"),
        (D("0.004"), "0.00"),
        (D("2.675"), "2.68"),  # a float would have said 2.67
        (D("1.115"), "1.12"),
        (D("100"), "100.00"),
        (D("-0"), "0.00"),
        (D("-0.00"), "0.00"),
        (0, "0.00"),
        (700, "700.00"),
        ("333.333", "333.33"),
        ("0.125", "0.13"),
        (" 12.5 ", "12.50"),
    ],
)
def test_to_money_rounds_half_up_to_cents(value: Decimal | int | str, expected: str) -> None:
    money = to_money(value)
    assert money == D(expected)
    assert str(money) == expected
    assert _is_cents(money)


def test_to_money_ignores_the_ambient_decimal_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = ROUND_DOWN
        assert str(to_money(D("12345.675"))) == "12345.68"


@pytest.mark.parametrize("value", [1.5, 0.1, float("nan"), True])
def test_to_money_rejects_float_and_bool(value: object) -> None:
    with pytest.raises(TypeError):
        to_money(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        D("NaN"),
        D("sNaN"),
        D("Infinity"),
        D("-Infinity"),
        "nan",
        "inf",
        D("-0.01"),
        -1,
        "-0.001",
        "abc",
        "",
        "1e100",  # beyond what two places in 28 digits can hold
    ],
)
def test_to_money_rejects_non_amounts(value: Decimal | int | str) -> None:
    with pytest.raises(InvalidInput) as caught:
        to_money(value)
    assert caught.value.field == "amount"


def test_cent() -> None:
    assert D("0.01") == CENT


@pytest.mark.parametrize(
    ("incomes", "expected"),
    [
        ([D("100.00"), D("0"), D("333.33")], "144.44"),
        ([D("0.01"), D("0.00")], "0.01"),  # 0.005 rounds half up
        ([D("1000.00")], "1000.00"),
        ([D("0"), D("0"), D("0")], "0.00"),
        ([D("100.00"), D("100.00"), D("100.01")], "100.00"),
    ],
)
def test_per_capita_income(incomes: list[Decimal], expected: str) -> None:
    result = per_capita_income(incomes)
    assert str(result) == expected


def test_per_capita_income_needs_members() -> None:
    with pytest.raises(InvalidInput) as caught:
        per_capita_income([])
    assert caught.value.field == "members"


def test_benefit_is_computed_exactly_not_from_rounded_per_capita() -> None:
    incomes = [D("100.00"), D("0"), D("333.33")]
    # rounded per-capita would give (700.00 - 144.44) * 3 = 1666.68
    assert monthly_benefit(D("700.00"), incomes) == D("1666.67")
    assert str(monthly_benefit(D("700.00"), incomes)) == "1666.67"
    assert is_eligible(D("700.00"), incomes)


@pytest.mark.parametrize(
    ("standard", "incomes", "expected"),
    [
        ("700.00", ["0"], "700.00"),
        ("700.00", ["0", "0", "0", "0"], "2800.00"),
        ("650.50", ["200.25", "100.25"], "1000.50"),
        ("700.00", ["699.99"], "0.01"),
        ("700.00", ["700.00"], "0.00"),
        ("700.00", ["700.01"], "0.00"),
        ("700.00", ["5000.00", "0", "0"], "0.00"),  # never negative
        ("0", ["0"], "0.00"),
        ("700.00", ["0.004"], "700.00"),  # 699.996 rounds half up to the cent
        ("700.00", ["699.995"], "0.01"),
        ("700.00", ["699.996"], "0.00"),
    ],
)
def test_monthly_benefit(standard: str, incomes: list[str], expected: str) -> None:
    result = monthly_benefit(D(standard), [D(i) for i in incomes])
    assert str(result) == expected
    assert _is_cents(result)
    assert result >= 0


def test_eligibility_and_benefit_agree_where_rounded_per_capita_would_not() -> None:
    incomes = [D("700.00"), D("700.00"), D("699.99")]
    assert per_capita_income(incomes) == D("700.00")  # rounded display value
    assert is_eligible(D("700.00"), incomes)  # 2099.99 < 2100.00
    assert monthly_benefit(D("700.00"), incomes) == D("0.01")


@pytest.mark.parametrize(
    ("standard", "incomes", "eligible"),
    [
        ("700.00", ["699.99"], True),
        ("700.00", ["700.00"], False),
        ("700.00", ["700.00", "699.98"], True),
        ("700.00", ["1400.00", "0"], False),
        ("0.00", ["0"], False),
    ],
)
def test_is_eligible_is_strict(standard: str, incomes: list[str], eligible: bool) -> None:
    assert is_eligible(D(standard), [D(i) for i in incomes]) is eligible


@pytest.mark.parametrize(
    ("standard", "incomes"),
    [
        (D("-1"), [D("0")]),
        (D("NaN"), [D("0")]),
        (D("700"), [D("-0.01")]),
        (D("700"), [D("Infinity")]),
    ],
)
def test_benefit_rejects_bad_amounts(standard: Decimal, incomes: list[Decimal]) -> None:
    for func in (monthly_benefit, is_eligible):
        with pytest.raises(InvalidInput) as caught:
            func(standard, incomes)
        assert caught.value.field == "amount"


def test_benefit_rejects_float_amounts() -> None:
    with pytest.raises(TypeError):
        monthly_benefit(700.0, [D("0")])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        per_capita_income([D("1"), 2.5])  # type: ignore[list-item]


def test_benefit_needs_members() -> None:
    with pytest.raises(InvalidInput):
        monthly_benefit(D("700"), [])
    with pytest.raises(InvalidInput):
        is_eligible(D("700"), [])
