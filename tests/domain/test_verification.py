"""Verification rules with no I/O: working-day due dates, discrepancies, approval."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.verification import (
    DeclaredAsset,
    DeclaredMember,
    Department,
    DiscrepancyKind,
    Findings,
    RequestState,
    VerificationStatus,
    add_working_days,
    approval_blocker,
    check_departments,
    discrepancies,
    is_overdue,
    mask_id_number,
)

FRIDAY = dt.date(2026, 12, 4)


def test_working_days_skip_weekends_and_take_a_calendar() -> None:
    assert add_working_days(FRIDAY, 1) == dt.date(2026, 12, 7)  # Monday
    assert add_working_days(FRIDAY, 10) == dt.date(2026, 12, 18)
    assert add_working_days(FRIDAY, 0) == FRIDAY
    holiday = dt.date(2026, 12, 7)
    assert add_working_days(FRIDAY, 1, lambda d: d.weekday() < 5 and d != holiday) == dt.date(
        2026, 12, 8
    )


def test_overdue_only_while_pending() -> None:
    due = dt.date(2026, 12, 18)
    assert is_overdue(VerificationStatus.PENDING, due, due + dt.timedelta(days=1))
    assert not is_overdue(VerificationStatus.PENDING, due, due)
    assert not is_overdue(VerificationStatus.ANSWERED, due, due + dt.timedelta(days=9))


def test_departments_are_bounded_and_unique() -> None:
    with pytest.raises(InvalidInput):
        check_departments([])
    with pytest.raises(InvalidInput):
        check_departments([Department.TAX, Department.TAX])
    assert check_departments([Department.BANK]) == [Department.BANK]


def test_discrepancies_income_assets_registration() -> None:
    members = [
        DeclaredMember(0, Decimal("300.00")),
        DeclaredMember(1, Decimal("0.00")),
    ]
    assets = [DeclaredAsset("DEPOSIT", Decimal("5000")), DeclaredAsset("VEHICLE", Decimal("2000"))]
    found = {
        0: Findings(monthly_wage=Decimal("300.00"), deposits=Decimal("4000")),
        1: Findings(monthly_pension=Decimal("1200"), deposits=Decimal("3000"), vehicle_count=1),
    }
    got = discrepancies(members, assets, found)
    assert [(d.kind, d.member) for d in got] == [
        (DiscrepancyKind.INCOME, 1),
        (DiscrepancyKind.DEPOSITS, None),
    ]
    assert got[0].declared == "0.00" and got[0].found == "1200"
    mismatch = discrepancies(members, assets, {0: Findings(registration_matches=False)})
    assert [d.kind for d in mismatch] == [DiscrepancyKind.REGISTRATION]
    assert discrepancies(members, assets, {0: Findings(registration_matches=True)}) == []
    homes = discrepancies(members, [], {0: Findings(property_count=2)})
    assert [(d.kind, d.declared, d.found) for d in homes] == [(DiscrepancyKind.PROPERTY, "0", "2")]


def test_findings_round_trip_and_bounds() -> None:
    f = Findings(monthly_wage=Decimal("1.50"), vehicle_count=2, registration_matches=True)
    assert Findings.from_json(f.to_json()) == f
    with pytest.raises(InvalidInput):
        Findings(deposits=Decimal(-1)).check()


def test_approval_waits_for_answers_and_overrides() -> None:
    pending = RequestState(Department.BANK, VerificationStatus.PENDING, 0, overridden=False)
    contradicted = RequestState(Department.TAX, VerificationStatus.ANSWERED, 2, overridden=False)
    assert "BANK" in (approval_blocker([pending]) or "")
    assert "TAX" in (approval_blocker([contradicted]) or "")
    overridden = RequestState(Department.TAX, VerificationStatus.ANSWERED, 2, overridden=True)
    clean = RequestState(Department.BANK, VerificationStatus.ANSWERED, 0, overridden=False)
    assert approval_blocker([overridden, clean]) is None


def test_masked_id_number_keeps_region_and_tail() -> None:
    assert mask_id_number("22018319700517123X") == "220183********123X"
