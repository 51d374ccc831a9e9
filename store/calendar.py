"""Load the working-day calendar: the chinese-calendar library, the shipped additions
(store/calendar_days.csv) and a county's own file, in that order, later rows winning.

The library carries the State Council's yearly notices (holidays and 调休) and is
maintained; the shipped file holds what a release of the library does not know yet,
marked provisional; the county's file holds local days. Reading happens once, at
start-up: a malformed file stops the service there, with the line that is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from chinese_calendar import constants as library

from domain.calendar import WorkingCalendar

SHIPPED = Path(__file__).with_name("calendar_days.csv")
KINDS = ("holiday", "workday", "year", "provisional-year")


class CalendarFileError(ValueError):
    """A calendar file that cannot be read as it stands."""


def _rows(path: Path) -> Iterable[tuple[int, str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarFileError(f"{path}: cannot be read ({exc.strerror})") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        row = next(csv.reader([line]))
        if len(row) < 2 or row[1].strip() not in KINDS:
            raise CalendarFileError(
                f"{path}, line {number}: expected `day,kind,note`, kind one of {', '.join(KINDS)}"
            )
        yield number, row[0].strip(), row[1].strip()


def load(extra: Path | None = None) -> WorkingCalendar:
    """The calendar from the library, the shipped file and `extra` (a county's file)."""
    holidays = set(library.holidays)
    workdays = set(library.workdays)
    years = {day.year for day in holidays} | {day.year for day in workdays}
    provisional: set[int] = set()
    for path in (SHIPPED, *([extra] if extra is not None else [])):
        for number, day_text, kind in _rows(path):
            try:
                if kind in ("year", "provisional-year"):
                    year = int(day_text)
                    if not 1900 < year < 2200:
                        raise ValueError(day_text)
                    years.add(year)
                    (provisional.add if kind == "provisional-year" else provisional.discard)(year)
                    continue
                day = dt.date.fromisoformat(day_text)
            except ValueError:
                raise CalendarFileError(
                    f"{path}, line {number}: {day_text!r} is not a date (YYYY-MM-DD) or a year"
                ) from None
            if kind == "holiday":
                holidays.add(day)
                workdays.discard(day)
            else:
                workdays.add(day)
                holidays.discard(day)
    return WorkingCalendar(
        years=frozenset(years),
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        provisional=frozenset(provisional),
    )


@cache
def shipped() -> WorkingCalendar:
    """The calendar without a county's file, read once: the default of every context."""
    return load()
