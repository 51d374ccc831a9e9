from __future__ import annotations

import pytest

from domain.archive import ARCHIVE_NO_RE, format_archive_no, parse_archive_no
from domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("village", "year", "sequence", "expected"),
    [
        ("220183101201", 2024, 1, "220183101201-2024-000001"),
        ("110101001001", 1990, 999_999, "110101001001-1990-999999"),
        ("530102003204", 2999, 42, "530102003204-2999-000042"),
    ],
)
def test_format_and_parse_round_trip(village: str, year: int, sequence: int, expected: str) -> None:
    assert format_archive_no(village, year, sequence) == expected
    assert parse_archive_no(expected) == (village, year, sequence)
    assert ARCHIVE_NO_RE.fullmatch(expected)


@pytest.mark.parametrize(
    ("village", "year", "sequence", "reason"),
    [
        ("22018310120", 2024, 1, "12 digits"),
        ("2201831012011", 2024, 1, "12 digits"),
        ("22018310120a", 2024, 1, "12 digits"),
        ("220183101201", 1989, 1, "year"),
        ("220183101201", 3000, 1, "year"),
        ("220183101201", 2024, 0, "sequence"),
        ("220183101201", 2024, 1_000_000, "sequence"),
    ],
)
def test_format_rejects(village: str, year: int, sequence: int, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as caught:
        format_archive_no(village, year, sequence)
    assert caught.value.field == "archiveNo"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "220183101201-2024-00001",
        "220183101201-2024-0000001",
        "220183101201-24-000001",
        "22018310120-2024-000001",
        "220183101201_2024_000001",
        " 220183101201-2024-000001",
        "220183101201-2024-000001\n",
        "220183101201-2024-000000",
        "220183101201-1989-000001",
        "２20183101201-2024-000001",
    ],
)
def test_parse_rejects(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_archive_no(value)
    assert caught.value.field == "archiveNo"


def test_regex_is_anchored() -> None:
    assert ARCHIVE_NO_RE.match("220183101201-2024-000001x") is None
    assert ARCHIVE_NO_RE.search("x220183101201-2024-000001") is None
