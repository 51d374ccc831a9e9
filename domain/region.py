"""Region codes and scopes: 12-digit statistical division codes.

Levels: province 2, city 2, county 2, township 3, village 3 digits. A scope is
a prefix at one of those levels; a record is inside a scope when its village
code starts with it. Keeping the prefix rule here lets the store turn a scope
into a `LIKE 'scope%'` filter and the policy layer test the same thing in memory.
"""

from __future__ import annotations

import re
from typing import Final

from domain.errors import InvalidInput

__all__ = [
    "LEVELS",
    "SCOPE_LENGTHS",
    "county_of",
    "in_scope",
    "level_of",
    "parent_of",
    "validate_scope",
    "validate_village_code",
]

SCOPE_LENGTHS: Final = (2, 4, 6, 9, 12)
LEVELS: Final = ("PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE")
_LEVEL_BY_LENGTH: Final = dict(zip(SCOPE_LENGTHS, LEVELS, strict=True))
_DIGITS_RE = re.compile(r"[0-9]+")


def validate_scope(value: str, *, field: str = "region") -> str:
    """Accept a 2/4/6/9/12-digit prefix. The empty string is refused here on purpose:
    national scope must be granted explicitly, never reached by leaving a field blank."""
    if _DIGITS_RE.fullmatch(value) is None or len(value) not in SCOPE_LENGTHS:
        raise InvalidInput(f"{field}: must be 2, 4, 6, 9 or 12 digits", field=field)
    return value


def validate_village_code(value: str, *, field: str = "villageCode") -> str:
    """A household lives in a village: 12 digits, with non-zero township and village parts
    (zeros there denote a higher-level unit, not a place a household can be in)."""
    if _DIGITS_RE.fullmatch(value) is None or len(value) != 12:
        raise InvalidInput(f"{field}: must be 12 digits", field=field)
    if value[6:9] == "000" or value[9:12] == "000":
        raise InvalidInput(f"{field}: township and village parts must not be 000", field=field)
    return value


def in_scope(code: str, scope: str) -> bool:
    """Prefix test. The empty scope is the national scope and contains every code."""
    return code.startswith(scope)


def county_of(code: str) -> str:
    """The 6-digit county (GB/T 2260) a code belongs to: standards are set per county."""
    validate_scope(code, field="region")
    if len(code) < 6:
        raise InvalidInput("region: a county needs at least 6 digits", field="region")
    return code[:6]


def level_of(code: str) -> str:
    """PROVINCE, CITY, COUNTY, TOWNSHIP or VILLAGE, from the code's length."""
    return _LEVEL_BY_LENGTH[len(validate_scope(code, field="region"))]


def parent_of(code: str) -> str | None:
    """The enclosing scope one level up, or None for a province (its parent is national)."""
    index = SCOPE_LENGTHS.index(len(validate_scope(code, field="region")))
    return code[: SCOPE_LENGTHS[index - 1]] if index > 0 else None
