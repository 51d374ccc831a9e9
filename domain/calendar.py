"""Working days (工作日) as China's public-holiday calendar has them, with no I/O.

Every time limit of the review chain (民发〔2021〕57号) is counted in working days:
weekends do not count, public holidays do not count, and a weekend day moved to a
working day (调休) does. The calendar is data: the store loads the years it knows
(from a maintained library and a local override file) and hands them here. A day
in a year the calendar was not given is an error, never a silent weekday count: a
deadline a day wrong is a deadline missed.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable

from domain.errors import DomainError

BEIJING = dt.timezone(dt.timedelta(hours=8))


class UnknownYear(DomainError):
    """A date in a year to come that the working-day calendar does not know: the
    server's configuration is behind (start-up refuses it; a server left running
    across the year may meet it), so callers get INTERNAL and the log says why."""

    code = "INTERNAL"

    def __init__(self, year: int, known: Iterable[int]) -> None:
        years = sorted(known)
        span = f"{years[0]}–{years[-1]}" if years else "none"
        super().__init__(
            f"the working-day calendar does not know the year {year} (it knows {span}); "
            "add the year's holidays to the calendar file (DIBAO_CALENDAR_FILE)"
        )
        self.year = year


class WorkingCalendar:
    """Which days are worked, for the years it was given.

    `holidays` are days off that would otherwise be worked (Monday to Friday);
    `workdays` are weekend days that are worked (调休). `provisional` years are
    known only from the statutory holiday dates, before the State Council's
    notice fixed the moved days: they count, and start-up says so.
    """

    __slots__ = ("_off", "_on", "holidays", "provisional", "workdays", "years")

    def __init__(
        self,
        years: frozenset[int],
        holidays: frozenset[dt.date] = frozenset(),
        workdays: frozenset[dt.date] = frozenset(),
        provisional: frozenset[int] = frozenset(),
    ) -> None:
        self.years = years
        self.holidays = holidays
        self.workdays = workdays
        self.provisional = provisional
        # the exceptions to Monday-to-Friday, sorted: `between` counts a span of years
        # by arithmetic and two bisections instead of a walk over every day
        self._off = sorted(d for d in holidays if d.weekday() < 5 and d not in workdays)
        self._on = sorted(d for d in workdays if d.weekday() >= 5)

    def knows(self, year: int) -> bool:
        return year in self.years or year < self._first

    @property
    def _first(self) -> int:
        # before the first year given (2004 for the library), no notice is known: such
        # days only time the stages of old paper-era archives, counted Monday to Friday
        return min(self.years, default=0)

    def _check(self, day: dt.date) -> None:
        if not self.knows(day.year):
            raise UnknownYear(day.year, self.years)

    def is_working(self, day: dt.date) -> bool:
        self._check(day)
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after `start` (`start` itself does not count)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day, left = start, n
        while left:
            day += dt.timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day

    def back(self, today: dt.date, n: int) -> dt.date:
        """The n-th working day before `today`; with n = 0, `today` itself.

        Something that started on a day before this one has had more than n
        working days by `today`: the cut-off of an `overdue` list.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        day, left = today, n
        while left:
            day -= dt.timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 if end <= start)."""
        if end <= start:
            return 0
        for year in range(start.year, end.year + 1):
            if not self.knows(year):
                raise UnknownYear(year, self.years)
        off = bisect_right(self._off, end) - bisect_right(self._off, start)
        on = bisect_right(self._on, end) - bisect_right(self._on, start)
        return _weekdays_through(end) - _weekdays_through(start) - off + on


def _weekdays_through(day: dt.date) -> int:
    """Monday-to-Friday days from a fixed Monday up to and including `day`."""
    days = day.toordinal() - _EPOCH_MONDAY
    weeks, rest = divmod(days + 1, 7)
    return weeks * 5 + min(rest, 5)


_EPOCH_MONDAY = dt.date(1900, 1, 1).toordinal()  # a Monday, before any archive


def monday_to_friday(years: Iterable[int]) -> WorkingCalendar:
    """A calendar without holidays, for tests of the arithmetic alone."""
    return WorkingCalendar(years=frozenset(years))


def beijing_day(moment: dt.datetime) -> dt.date:
    """The calendar day in Beijing of a stored (UTC) moment: limits count local days."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING).date()


def beijing_midnight(day: dt.date) -> dt.datetime:
    """The first moment of `day` in Beijing, as UTC: the bound of a SQL cut-off."""
    return dt.datetime.combine(day, dt.time.min, BEIJING).astimezone(dt.UTC)
