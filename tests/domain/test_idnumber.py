from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from stdnum.cn import ric

from domain.enums import Sex
from domain.errors import InvalidInput
from domain.idnumber import (
    IdInfo,
    check_character,
    make_id_number,
    normalize_id_number,
    parse_id_number,
)

TODAY = date(2024, 6, 15)


def _with_valid_check(body17: str) -> str:
    """A number whose check character is right, so only the part under test is wrong."""
    return body17 + ric.calc_check_digit(body17 + "0")


def _iso7064_check(body17: str) -> str:
    """Independent oracle: ISO 7064 MOD 11-2 as GB 11643 prints it."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body17))
    return "10X98765432"[total % 11]


def _assert_rejected(value: str, reason: str, field: str = "idNumber") -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_id_number(value, field=field, today=TODAY)
    err = caught.value
    assert err.field == field
    assert err.code == "BAD_USER_INPUT"
    assert reason in err.message
    assert err.message.startswith(f"{field}: ")
    if value:
        assert value.strip().upper() not in err.message
    assert re.search(r"[0-9]{6}", err.message) is None, "message leaks part of the number"


@pytest.mark.parametrize(
    ("number", "birth", "sex", "region"),
    [
        ("11010519491231002X", date(1949, 12, 31), Sex.FEMALE, "110105"),
        ("360426199101010071", date(1991, 1, 1), Sex.MALE, "360426"),
    ],
)
def test_known_valid_numbers(number: str, birth: date, sex: Sex, region: str) -> None:
    assert number[-1] == _iso7064_check(number[:17])
    assert parse_id_number(number, today=TODAY) == IdInfo(number, birth, sex, region)


def test_normalises_spaces_and_lower_case_x() -> None:
    assert normalize_id_number(" 110105 19491231 002x\t") == "11010519491231002X"
    info = parse_id_number(" 11010519491231002x ", today=TODAY)
    assert info.number == "11010519491231002X"


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [(4, "22018319900101004X"), (39, "22018319900101039X"), (0, "220183199001010007")],
)
def test_make_id_number_matches_stdnum(sequence: int, expected: str) -> None:
    number = make_id_number("220183", date(1990, 1, 1), sequence)
    assert number == expected
    assert number[-1] == _iso7064_check(number[:17])


@pytest.mark.parametrize("sequence", [0, 1, 4, 39, 500, 998, 999])
def test_make_id_number_round_trips(sequence: int) -> None:
    birth = date(2000, 2, 29)
    info = parse_id_number(make_id_number("530102", birth, sequence), today=TODAY)
    assert info.birth_date == birth
    assert info.region_code == "530102"
    assert info.sex is (Sex.MALE if sequence % 2 else Sex.FEMALE)


def test_x_ending_numbers_are_valid_for_both_sexes() -> None:
    female = parse_id_number(make_id_number("220183", date(1990, 1, 1), 4), today=TODAY)
    male = parse_id_number(make_id_number("220183", date(1990, 1, 1), 39), today=TODAY)
    assert female.number.endswith("X")
    assert female.sex is Sex.FEMALE
    assert male.number.endswith("X")
    assert male.sex is Sex.MALE


@pytest.mark.parametrize(
    ("region", "birth", "sequence"),
    [
        ("22018", date(1990, 1, 1), 1),
        ("2201830", date(1990, 1, 1), 1),
        ("22018a", date(1990, 1, 1), 1),
        ("22018٣", date(1990, 1, 1), 1),  # a digit, but not an ASCII one
        ("220183", date(1990, 1, 1), -1),
        ("220183", date(1990, 1, 1), 1000),
        ("220183", date(999, 1, 1), 1),
    ],
)
def test_make_id_number_refuses_bad_parts(region: str, birth: date, sequence: int) -> None:
    with pytest.raises(ValueError, match="must"):
        make_id_number(region, birth, sequence)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "11010519491231002",  # 17
        "11010519491231002X1",  # 19
        "1101051949123100XX",  # X not last
        "11010519491231A02X",  # letter
        "１1010519491231002X",  # full-width digit
        "110105-19491231-002X",  # separators are not whitespace
    ],
)
def test_wrong_shape(value: str) -> None:
    _assert_rejected(value, "must be 18 characters")


@pytest.mark.parametrize("last", ["0", "1", "9"])
def test_wrong_check_character(last: str) -> None:
    _assert_rejected("11010519491231002" + last, "check character does not match (GB 11643)")


def test_wrong_check_character_with_custom_field() -> None:
    _assert_rejected("110105194912310020", "check character", field="members.0.idNumber")


def test_single_digit_typo_is_caught() -> None:
    _assert_rejected("11010519491231003X", "check character")


@pytest.mark.parametrize(
    "birth",
    ["19900230", "19900229", "19901301", "19900100", "19000229", "18991231", "00000101"],
)
def test_impossible_birth_date(birth: str) -> None:
    _assert_rejected(_with_valid_check("220183" + birth + "123"), "not a possible date")


def test_leap_day_is_possible() -> None:
    assert parse_id_number(_with_valid_check("22018320000229123"), today=TODAY).birth_date == date(
        2000, 2, 29
    )


def test_birth_date_in_the_future() -> None:
    _assert_rejected(make_id_number("220183", date(2024, 6, 16), 1), "in the future")


def test_born_today_is_accepted() -> None:
    assert parse_id_number(make_id_number("220183", TODAY, 1), today=TODAY).birth_date == TODAY


def test_a_birth_date_after_the_given_today_is_in_the_future() -> None:
    with pytest.raises(InvalidInput, match="in the future"):
        parse_id_number(make_id_number("220183", TODAY + timedelta(days=1), 1), today=TODAY)


def test_every_sequence_agrees_with_independent_oracle() -> None:
    for sequence in range(1000):
        number = make_id_number("441900", date(1987, 11, 30), sequence)
        assert number[-1] == _iso7064_check(number[:17])
        wrong = "0" if number[-1] != "0" else "1"
        with pytest.raises(InvalidInput, match="check character"):
            parse_id_number(number[:17] + wrong, today=TODAY)


def test_check_character_matches_stdnum() -> None:
    """The seed's one-pass check character is the standard's, on every ending."""
    bodies = [f"{n:017d}" for n in range(0, 10**17, 10**17 // 997)]
    bodies += [f"1101051990030{n:04d}" for n in range(2_000)]
    assert {check_character(b)[-1] for b in bodies} == set("0123456789X")
    for body in bodies:
        assert check_character(body) == ric.calc_check_digit(body + "0")
