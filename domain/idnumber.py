"""Resident ID numbers (居民身份证号码, GB 11643).

The number is the key that stops double benefits, so it is parsed strictly:
length and characters, the ISO 7064 MOD 11-2 check character, and a birth date
that exists and is not in the future. Error messages name the reason but never
echo the number: they travel to callers and into logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric

from domain.enums import Sex
from domain.errors import InvalidInput

__all__ = ["IdInfo", "check_character", "make_id_number", "normalize_id_number", "parse_id_number"]

_SHAPE_RE = re.compile(r"[0-9]{17}[0-9X]")
# Nobody born before this is alive; earlier years point at a typo, not a person.
EARLIEST_BIRTH_YEAR = 1900


@dataclass(frozen=True, slots=True)
class IdInfo:
    """What an ID number says about its holder, so nobody re-slices the string."""

    number: str
    birth_date: date
    sex: Sex
    region_code: str


def normalize_id_number(value: str) -> str:
    """Drop all whitespace and upper-case: one person, one spelling, one blind index."""
    return "".join(value.split()).upper()


# Province-level codes of GB/T 2260 (with Taiwan, Hong Kong and Macao). County codes
# change over the years while numbers issued under old ones stay valid, so the
# check stops at the province and requires a prefecture part.
PROVINCES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)


def parse_id_number(value: str, *, today: date, field: str = "idNumber") -> IdInfo:
    """Validate an ID number and derive birth date, sex and region from it.

    `today` comes from the caller: the domain reads no clock (the request's own time
    decides, so a request straddling midnight judges every number alike).
    """
    number = normalize_id_number(value)
    if _SHAPE_RE.fullmatch(number) is None:
        raise InvalidInput(
            f"{field}: must be 18 characters, 17 digits then a digit or X (GB 11643)",
            field=field,
        )
    if ric.calc_check_digit(number) != number[-1]:
        raise InvalidInput(f"{field}: check character does not match (GB 11643)", field=field)
    if number[:2] not in PROVINCES or number[2:4] == "00":
        raise InvalidInput(f"{field}: no such region of issue (GB/T 2260)", field=field)
    birth_date = _birth_date(number)
    if birth_date is None:
        raise InvalidInput(f"{field}: birth date is not a possible date", field=field)
    if birth_date > today:
        raise InvalidInput(f"{field}: birth date is in the future", field=field)
    sex = Sex.MALE if int(number[16]) % 2 == 1 else Sex.FEMALE
    return IdInfo(number=number, birth_date=birth_date, sex=sex, region_code=number[:6])


def _birth_date(number: str) -> date | None:
    """The YYYYMMDD in positions 7-14, or None when no such person can exist."""
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    if year < EARLIEST_BIRTH_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def make_id_number(region_code: str, birth_date: date, sequence: int) -> str:
    """Build a valid ID number for synthetic data; the sequence's parity decides the sex.

    Raises ValueError: a bad argument here is a generator bug, not user input.
    """
    if len(region_code) != 6 or not (region_code.isascii() and region_code.isdigit()):
        raise ValueError("region_code must be 6 digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be in 0..999")
    if birth_date.year < 1000:
        raise ValueError("birth year must have 4 digits")
    body = f"{region_code}{birth_date.year}{birth_date.month:02d}{birth_date.day:02d}{sequence:03d}"
    return body + check_character(body)


# ISO 7064 MOD 11-2 over the 17 digits: weight 2^(17-i) mod 11 at position i
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CHECK_CHARACTERS = "10X98765432"


def check_character(body: str) -> str:
    """The check character of the 17 digits `body` (GB 11643): what `parse_id_number`
    verifies, computed in one pass (a seed makes millions of numbers)."""
    return _CHECK_CHARACTERS[sum(map(int.__mul__, map(int, body), _WEIGHTS)) % 11]
