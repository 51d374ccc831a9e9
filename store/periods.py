"""Months as the payment batches name them (YYYY-MM), in Beijing time."""

from __future__ import annotations

import calendar
import datetime as dt
import re

from domain.errors import InvalidInput

CST = dt.timezone(dt.timedelta(hours=8))
_PERIOD_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def parse_period(value: str, *, field: str = "period") -> tuple[int, int]:
    match = _PERIOD_RE.fullmatch(value)
    if match is None or int(match.group(1)) < 1900:
        raise InvalidInput(f"{field}: a month as YYYY-MM", field=field)
    return int(match.group(1)), int(match.group(2))


def first_day(period: str) -> dt.date:
    year, month = parse_period(period)
    return dt.date(year, month, 1)


def last_day(period: str) -> dt.date:
    year, month = parse_period(period)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def month_start(period: str) -> dt.datetime:
    """The first instant of the period (Beijing midnight of its first day)."""
    start = first_day(period)
    return dt.datetime(start.year, start.month, 1, tzinfo=CST)


def months_from(earliest: str, latest: str) -> list[str]:
    """Each month from `earliest` to `latest`, both included, in order."""
    (y0, m0), (y1, m1) = parse_period(earliest), parse_period(latest)
    return [
        f"{index // 12:04d}-{index % 12 + 1:02d}" for index in range(y0 * 12 + m0 - 1, y1 * 12 + m1)
    ]


def months_before(period: str, months: int) -> str:
    year, month = parse_period(period)
    index = year * 12 + month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
