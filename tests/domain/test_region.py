from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.region import (
    SCOPE_LENGTHS,
    county_of,
    in_scope,
    level_of,
    parent_of,
    validate_scope,
    validate_village_code,
)

VILLAGE = "220183101201"


@pytest.mark.parametrize("scope", ["22", "2201", "220183", "220183101", "220183101201"])
def test_valid_scopes(scope: str) -> None:
    assert validate_scope(scope) == scope


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "2",
        "220",
        "22018",
        "2201831",
        "22018310120",
        "2201831012011",
        "22a1",
        " 22",
        "２２",
        "-2",
    ],
)
def test_invalid_scopes(scope: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_scope(scope, field="scope")
    assert caught.value.field == "scope"


def test_scope_field_defaults_to_region() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_scope("1")
    assert caught.value.field == "region"


def test_valid_village_code() -> None:
    assert validate_village_code(VILLAGE) == VILLAGE


@pytest.mark.parametrize(
    "code", ["22018310120", "2201831012011", "22018310120a", "220183000201", "220183101000"]
)
def test_invalid_village_codes(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_village_code(code)
    assert caught.value.field == "villageCode"


@pytest.mark.parametrize(
    ("scope", "inside"),
    [
        ("", True),
        ("22", True),
        ("2201", True),
        ("220183", True),
        ("220183101", True),
        (VILLAGE, True),
        ("23", False),
        ("2202", False),
        ("220184", False),
        ("220183102", False),
        ("220183101202", False),
    ],
)
def test_in_scope(scope: str, inside: bool) -> None:
    assert in_scope(VILLAGE, scope) is inside


def test_a_wider_code_is_not_inside_a_narrower_scope() -> None:
    assert not in_scope("2201", "220183")


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("22", "PROVINCE", None),
        ("2201", "CITY", "22"),
        ("220183", "COUNTY", "2201"),
        ("220183101", "TOWNSHIP", "220183"),
        (VILLAGE, "VILLAGE", "220183101"),
    ],
)
def test_level_and_parent(code: str, level: str, parent: str | None) -> None:
    assert level_of(code) == level
    assert parent_of(code) == parent


@pytest.mark.parametrize("code", ["", "2", "22018", "abcdef"])
def test_level_and_parent_reject_non_codes(code: str) -> None:
    with pytest.raises(InvalidInput):
        level_of(code)
    with pytest.raises(InvalidInput):
        parent_of(code)


def test_county_of() -> None:
    assert county_of(VILLAGE) == "220183"
    assert county_of("220183101") == "220183"
    assert county_of("220183") == "220183"


@pytest.mark.parametrize("code", ["22", "2201", "22018", ""])
def test_county_of_needs_a_county(code: str) -> None:
    with pytest.raises(InvalidInput):
        county_of(code)


def test_scope_lengths() -> None:
    assert SCOPE_LENGTHS == (2, 4, 6, 9, 12)
