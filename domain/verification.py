"""Economic-status verification (家庭经济状况核对) with partner departments, with no I/O.

A county sends an applicant household, with its written authorisation, to the
departments that hold the facts; each answers with what it found per member.
This module says which departments exist, when an answer is due (working days,
through a calendar the caller may replace), and where the found values
contradict the declared ones (`discrepancies`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal

from domain.enums import HouseholdStatus as S
from domain.errors import InvalidInput

DUE_WORKING_DAYS = 10  # default answer period (DIBAO_VERIFICATION_DAYS)
MAX_DEPARTMENTS = 7  # one request per department, each at most once
MAX_BATCH = 500  # answers in one answerVerifications call
# a partner's queue page: each pending request puts every member's clear ID number in
# the read's audit entry (lookups by blind index), so the page is kept to what one
# entry is priced for (schema/audit_log.py AuditEvent.lookups)
QUEUE_PAGE = 10
MAX_CONSENT = 200  # characters of the consent document's reference
MAX_PER_HOUSEHOLD = 50  # requests a household's archive shows, newest first


class Department(enum.StrEnum):
    """The departments that hold facts about a household's economic situation."""

    PUBLIC_SECURITY = "PUBLIC_SECURITY"  # household registration, vehicles
    HUMAN_RESOURCES = "HUMAN_RESOURCES"  # social insurance, employment, pensions
    NATURAL_RESOURCES = "NATURAL_RESOURCES"  # real estate
    MARKET_REGULATION = "MARKET_REGULATION"  # businesses
    TAX = "TAX"
    HOUSING_FUND = "HOUSING_FUND"
    BANK = "BANK"  # deposits


class VerificationStatus(enum.StrEnum):
    PENDING = "PENDING"
    ANSWERED = "ANSWERED"
    WITHDRAWN = "WITHDRAWN"


# A household may be verified once accepted, and again at any re-check while it
# holds (or is about to hold) a benefit. A re-check state added to the review
# chain joins this set.
VERIFIABLE_STATUSES = frozenset(
    {
        S.ACCEPTED,
        S.INVESTIGATED,
        S.TOWNSHIP_REVIEWED,
        S.NOTICE,
        S.APPROVED,
        S.ACTIVE,
        S.SUSPENDED,
    }
)


def parse_department(value: str | None) -> Department | None:
    if value is None:
        return None
    try:
        return Department(value)
    except ValueError:
        names = ", ".join(d.value for d in Department)
        raise InvalidInput(f"department: one of {names}", field="department") from None


def check_departments(departments: Sequence[Department]) -> list[Department]:
    if not departments:
        raise InvalidInput("departments: name at least one", field="departments")
    if len(departments) > MAX_DEPARTMENTS:
        raise InvalidInput(f"departments: at most {MAX_DEPARTMENTS}", field="departments")
    if len(set(departments)) != len(departments):
        raise InvalidInput("departments: each department at most once", field="departments")
    return list(departments)


def check_consent(reference: str) -> str:
    reference = reference.strip()
    if not reference or len(reference) > MAX_CONSENT:
        raise InvalidInput(
            f"consentDocument: the signed authorisation's reference, 1 to {MAX_CONSENT} "
            "characters (授权书编号)",
            field="consentDocument",
        )
    return reference


# ----------------------------------------------------------------- due dates

Calendar = Callable[[dt.date], bool]  # whether a day is a working day


def monday_to_friday(day: dt.date) -> bool:
    """Until the holiday calendar is wired in: every weekday works, no weekend does."""
    return day.weekday() < 5


def add_working_days(start: dt.date, n: int, calendar: Calendar = monday_to_friday) -> dt.date:
    """The n-th working day after `start` (the day itself does not count)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    left = n
    while left:
        day += dt.timedelta(days=1)
        if calendar(day):
            left -= 1
    return day


def is_overdue(status: VerificationStatus, due_on: dt.date, today: dt.date) -> bool:
    return status is VerificationStatus.PENDING and today > due_on


# ----------------------------------------------------------------- findings


@dataclass(frozen=True, slots=True)
class Findings:
    """What a department found about one member; None: not its business or not found."""

    monthly_wage: Decimal | None = None
    monthly_pension: Decimal | None = None
    deposits: Decimal | None = None
    vehicle_count: int | None = None
    vehicle_value: Decimal | None = None
    property_count: int | None = None
    property_area: Decimal | None = None
    business_count: int | None = None
    registration_matches: bool | None = None

    def check(self) -> Findings:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or value is None:
                continue
            # a Decimal may be NaN or infinite (the scalar accepts "NaN"): no comparison holds
            finite = not isinstance(value, Decimal) or value.is_finite()
            if not finite or value < 0 or value > 10**12:
                raise InvalidInput(f"findings.{f.name}: 0 to 10^12", field="findings")
        return self

    def to_json(self) -> dict[str, str | int | bool]:
        out: dict[str, str | int | bool] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = str(value) if isinstance(value, Decimal) else value
        return out

    @classmethod
    def from_json(cls, data: dict[str, str | int | bool]) -> Findings:
        decimals = {
            "monthly_wage",
            "monthly_pension",
            "deposits",
            "vehicle_value",
            "property_area",
        }
        values: dict[str, object] = {}
        for name, value in data.items():
            values[name] = Decimal(str(value)) if name in decimals else value
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class DeclaredMember:
    position: int
    monthly_income: Decimal


@dataclass(frozen=True, slots=True)
class DeclaredAsset:
    kind: str  # DEPOSIT, VEHICLE, HOUSE, LAND, LIVESTOCK, ...
    value: Decimal


class DiscrepancyKind(enum.StrEnum):
    INCOME = "INCOME"
    DEPOSITS = "DEPOSITS"
    VEHICLES = "VEHICLES"
    PROPERTY = "PROPERTY"
    BUSINESS = "BUSINESS"
    REGISTRATION = "REGISTRATION"


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: DiscrepancyKind
    member: int | None  # the member's position; None for the household's assets
    declared: str
    found: str


def discrepancies(
    members: Sequence[DeclaredMember],
    assets: Sequence[DeclaredAsset],
    found: dict[int, Findings],
) -> list[Discrepancy]:
    """Where one answer (findings by member position) contradicts the application.

    Income is compared per member (found wage and pension against the declared
    monthly income); assets per household (found deposits, vehicles and property
    against the declared assets of that kind); a registration mismatch and any
    business are contradictions on their own, as the application declares none.
    """
    out: list[Discrepancy] = []
    declared = {m.position: m for m in members}
    for position in sorted(found):
        f = found[position]
        if f.monthly_wage is not None or f.monthly_pension is not None:
            income = (f.monthly_wage or Decimal(0)) + (f.monthly_pension or Decimal(0))
            said = declared[position].monthly_income if position in declared else Decimal(0)
            if income > said:
                out.append(Discrepancy(DiscrepancyKind.INCOME, position, str(said), str(income)))
        if f.registration_matches is False:
            out.append(Discrepancy(DiscrepancyKind.REGISTRATION, position, "match", "mismatch"))
        if f.business_count:
            out.append(Discrepancy(DiscrepancyKind.BUSINESS, position, "0", str(f.business_count)))

    def declared_of(kind: str) -> tuple[int, Decimal]:
        held = [a.value for a in assets if a.kind == kind]
        return len(held), sum(held, Decimal(0))

    answers = list(found.values())
    deposits = [f.deposits for f in answers if f.deposits is not None]
    if deposits:
        _, said_value = declared_of("DEPOSIT")
        total = sum(deposits, Decimal(0))
        if total > said_value:
            out.append(Discrepancy(DiscrepancyKind.DEPOSITS, None, str(said_value), str(total)))
    vehicles = [f for f in answers if f.vehicle_count is not None or f.vehicle_value is not None]
    if vehicles:
        said_count, said_value = declared_of("VEHICLE")
        count = sum(f.vehicle_count or 0 for f in vehicles)
        value = sum((f.vehicle_value or Decimal(0) for f in vehicles), Decimal(0))
        if count > said_count or value > said_value:
            out.append(
                Discrepancy(
                    DiscrepancyKind.VEHICLES,
                    None,
                    f"{said_count} / {said_value}",
                    f"{count} / {value}",
                )
            )
    properties = [f.property_count for f in answers if f.property_count is not None]
    if properties:
        said_count, _ = declared_of("HOUSE")
        count = sum(properties)
        if count > said_count:
            out.append(Discrepancy(DiscrepancyKind.PROPERTY, None, str(said_count), str(count)))
    return out


# ----------------------------------------------------------------- approval


@dataclass(frozen=True, slots=True)
class RequestState:
    """What approval needs to know of one verification request."""

    department: Department
    status: VerificationStatus
    discrepancies: int
    overridden: bool


def approval_blocker(requests: Sequence[RequestState]) -> str | None:
    """Why approval must wait, or None: a request still pending, or an answer that
    contradicts the application, unless a county reviewer overrode it with a reason."""
    for r in requests:
        if r.overridden:
            continue
        if r.status is VerificationStatus.PENDING:
            return (
                f"verification: the {r.department.value} request is still pending "
                "(核对未完成); wait for the answer or override it with a reason"
            )
        if r.discrepancies:
            return (
                f"verification: the {r.department.value} answer contradicts the application "
                f"({r.discrepancies} discrepancies, 核对不一致); override it with a reason"
            )
    return None


# ----------------------------------------------------------------- masking


def mask_id_number(value: str) -> str:
    """As the policy's masked form (policies/masking.py): region and tail kept."""
    if len(value) < 15:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(value: str) -> str:
    """The first character kept (a compound surname loses its second)."""
    return value[:1] + "*" * (len(value) - 1) if len(value) > 1 else "*" * len(value)
