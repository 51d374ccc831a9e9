"""Archive numbers (一户一号): `<12-digit village code>-<year>-<6-digit sequence>`.

The number is a household's permanent key, so formatting and parsing live in one
place and accept exactly one spelling.
"""

from __future__ import annotations

import re

from domain.errors import InvalidInput

__all__ = ["ARCHIVE_NO_RE", "format_archive_no", "parse_archive_no"]

ARCHIVE_NO_RE = re.compile(r"\A([0-9]{12})-([0-9]{4})-([0-9]{6})\Z")
_VILLAGE_RE = re.compile(r"[0-9]{12}")
_FIELD = "archiveNo"
MIN_YEAR = 1990
MAX_YEAR = 2999
MAX_SEQUENCE = 999_999


def _check(year: int, sequence: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"{_FIELD}: year must be {MIN_YEAR}..{MAX_YEAR}", field=_FIELD)
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise InvalidInput(f"{_FIELD}: sequence must be 1..{MAX_SEQUENCE}", field=_FIELD)


def format_archive_no(village_code: str, year: int, sequence: int) -> str:
    """Build the number; rejecting bad parts here keeps unparseable numbers out of the store."""
    if _VILLAGE_RE.fullmatch(village_code) is None:
        raise InvalidInput(f"{_FIELD}: village code must be 12 digits", field=_FIELD)
    _check(year, sequence)
    return f"{village_code}-{year:04d}-{sequence:06d}"


def parse_archive_no(value: str) -> tuple[str, int, int]:
    """Split a number into (village code, year, sequence); strict, no whitespace tolerated."""
    match = ARCHIVE_NO_RE.fullmatch(value)
    if match is None:
        raise InvalidInput(
            f"{_FIELD}: must look like <12-digit village code>-<year>-<6-digit sequence>",
            field=_FIELD,
        )
    year, sequence = int(match.group(2)), int(match.group(3))
    _check(year, sequence)
    return match.group(1), year, sequence
