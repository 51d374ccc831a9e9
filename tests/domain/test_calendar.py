"""The working-day calendar: holidays, moved working days (调休), unknown years, files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.calendar import UnknownYear, WorkingCalendar
from domain.deadlines import case_deadline, written_decision
from domain.workflow import Step
from gateway.cli import app
from gateway.config import Settings, check_calendar, load_settings, parse_case_days
from store import calendar as files

D = dt.date


def test_the_library_knows_holidays_and_moved_days() -> None:
    calendar = files.shipped()
    assert not calendar.is_working(D(2026, 10, 1))  # National Day
    assert not calendar.is_working(D(2026, 9, 25))  # a Friday of Mid-Autumn
    assert calendar.is_working(D(2026, 10, 10))  # a Saturday worked (调休)
    assert calendar.is_working(D(2026, 2, 14))  # a Saturday worked before Spring Festival
    assert not calendar.is_working(D(2026, 12, 5))  # a plain Saturday
    assert calendar.add(D(2026, 9, 24), 3) == D(2026, 9, 30)
    assert calendar.back(D(2026, 10, 1), 3) == D(2026, 9, 28)
    assert calendar.between(D(2026, 9, 30), D(2026, 10, 12)) == 4
    assert calendar.add(D(2026, 9, 24), 0) == D(2026, 9, 24)


def test_a_year_it_does_not_know_is_an_error_not_a_weekday_count() -> None:
    calendar = files.shipped()
    with pytest.raises(UnknownYear, match="2031"):
        calendar.is_working(D(2031, 3, 3))
    with pytest.raises(UnknownYear):
        calendar.add(D(2027, 12, 20), 30)  # runs into 2028


def test_years_before_the_library_count_monday_to_friday() -> None:
    """Paper-era archives have stages before 2004, the library's first year: those days
    count Monday to Friday, rather than failing every read of the archive."""
    calendar = files.shipped()
    assert calendar.is_working(D(2001, 10, 1))  # a Monday; National Day is not known then
    assert not calendar.is_working(D(2001, 10, 6))
    assert calendar.between(D(2001, 10, 1), D(2001, 10, 8)) == 5


def test_2027_is_provisional_until_the_notice_is_added() -> None:
    calendar = files.shipped()
    assert 2027 in calendar.provisional
    assert not calendar.is_working(D(2027, 2, 8))  # 初三
    assert calendar.is_working(D(2027, 2, 9))


def test_a_countys_file_adds_local_days_and_years(tmp_path: Path) -> None:
    local = tmp_path / "days.csv"
    local.write_text(
        "# 某自治县的民族节日\n2026-12-07,holiday,local festival\n2026-12-05,workday,\n"
        "2028,year,\n2027,year,the State Council's notice entered\n",
        encoding="utf-8",
    )
    calendar = files.load(local)
    assert not calendar.is_working(D(2026, 12, 7))
    assert calendar.is_working(D(2026, 12, 5))
    assert calendar.knows(2028) and 2027 not in calendar.provisional


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("2026-13-01,holiday,\n", "line 1"),
        ("# c\n2026-12-01,feast,\n", "line 2"),
        ("x\n", "line 1"),
    ],
)
def test_a_malformed_file_names_its_line(tmp_path: Path, text: str, line: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(files.CalendarFileError, match=line):
        files.load(bad)


def test_start_up_refuses_a_year_the_calendar_does_not_know(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://", key_file=tmp_path / "k.json")
    with pytest.raises(UnknownYear):
        check_calendar(settings, D(2030, 1, 6))
    # from October, the longest limit reaches into the next year: it must be known too
    warnings = check_calendar(settings, D(2026, 12, 2))
    assert len(warnings) == 1 and "2027" in warnings[0] and "provisional" in warnings[0]
    assert check_calendar(settings, D(2026, 3, 2)) == []
    bare = WorkingCalendar(years=frozenset({2026}))
    with pytest.raises(UnknownYear):
        check_calendar(
            Settings(database_url="sqlite://", key_file=tmp_path / "k.json", calendar=bare),
            D(2026, 12, 2),
        )


def test_serve_stops_on_a_malformed_calendar_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "days.csv"
    bad.write_text("2026-12-07,feast,\n", encoding="utf-8")
    monkeypatch.setenv("DIBAO_CALENDAR_FILE", str(bad))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "DIBAO_CALENDAR_FILE" in result.output and "line 1" in result.output


def test_case_limits_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_case_days("", written=3).decision == 30
    days = parse_case_days("20/40", written=3)
    assert (days.decision, days.extended) == (20, 40)
    for bad in ("40/20", "0/10", "x"):
        with pytest.raises(ValueError, match=r"working days|below"):
            parse_case_days(bad, written=3)
    monkeypatch.setenv("DIBAO_CASE_DAYS", "25/35")
    monkeypatch.setenv("DIBAO_STAGE_LIMITS", "REJECTED=5")
    settings = load_settings()
    assert (settings.case_days.decision, settings.case_days.written) == (25, 5)


def test_deadlines_from_the_steps() -> None:
    calendar = files.shipped()
    steps = [
        (Step.SUBMIT, D(2026, 9, 1)),
        (Step.ACCEPT, D(2026, 9, 2)),
        (Step.REJECT, D(2026, 9, 24)),
        (Step.WRITTEN_DECISION, D(2026, 9, 29)),
    ]
    deadline = case_deadline(steps, D(2026, 12, 1), calendar)
    assert deadline is not None and deadline.decided_on == D(2026, 9, 24)
    assert not deadline.overdue
    written = written_decision(steps, D(2026, 12, 1), calendar)
    assert written is not None
    assert (written.due_on, written.issued_on, written.overdue) == (
        D(2026, 9, 30),
        D(2026, 9, 29),
        False,
    )
    assert case_deadline(steps[:1], D(2026, 9, 1), calendar) is None


def test_counting_a_span_agrees_with_walking_it_day_by_day() -> None:
    """`between` counts years of stage time by arithmetic; a walk is the reference."""
    calendar = files.shipped()

    def walk(start: dt.date, end: dt.date) -> int:
        days = (start + dt.timedelta(days=i) for i in range(1, (end - start).days + 1))
        return sum(1 for day in days if calendar.is_working(day))

    start = D(2004, 1, 1)
    for offset in range(0, 8_700, 97):
        for length in (0, 1, 6, 7, 13, 40, 400):
            a = start + dt.timedelta(days=offset)
            b = a + dt.timedelta(days=length)
            if b.year <= 2027:
                assert calendar.between(a, b) == walk(a, b), (a, b)
    assert calendar.between(D(2026, 10, 12), D(2026, 9, 30)) == 0
    with pytest.raises(UnknownYear):
        calendar.between(D(2027, 12, 1), D(2028, 1, 3))
