"""The review chain (分级审核) and dynamic management as a state machine, with no I/O.

Each step names where it may start, where it leads, and what it needs (a
reason, the end of the public notice). A step that does not fit the current
state is a CONFLICT naming that state, so nothing can be skipped or run out
of order.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from domain.enums import HouseholdStatus as S
from domain.errors import Conflict, InvalidInput

NOTICE_DAYS = 7  # public notice (公示) lasts seven full days
ARCHIVE_AFTER_DAYS = 30  # terminated or rejected archives are archived (归档) after this
# days a household may stay in a stage before it is overdue (时效性): acceptance 3,
# investigation 10, township review 5, publication 3, notice 7 + county decision 10
STAGE_LIMITS: dict[str, int] = {
    "SUBMITTED": 3,
    "ACCEPTED": 10,
    "INVESTIGATED": 5,
    "TOWNSHIP_REVIEWED": 3,
    "NOTICE": 17,
    "APPROVED": 5,
}


class Step(enum.StrEnum):
    SUBMIT = "SUBMIT"
    ACCEPT = "ACCEPT"
    INVESTIGATE = "INVESTIGATE"
    TOWNSHIP_REVIEW = "TOWNSHIP_REVIEW"
    PUBLISH_NOTICE = "PUBLISH_NOTICE"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    ACTIVATE = "ACTIVATE"
    SUSPEND = "SUSPEND"
    RESUME = "RESUME"
    TERMINATE = "TERMINATE"
    ARCHIVE = "ARCHIVE"


@dataclass(frozen=True, slots=True)
class Rule:
    sources: frozenset[S]
    target: S
    reason_required: bool = False


RULES: dict[Step, Rule] = {
    Step.SUBMIT: Rule(frozenset({S.DRAFT}), S.SUBMITTED),
    Step.ACCEPT: Rule(frozenset({S.SUBMITTED}), S.ACCEPTED),
    Step.INVESTIGATE: Rule(frozenset({S.ACCEPTED}), S.INVESTIGATED),
    Step.TOWNSHIP_REVIEW: Rule(frozenset({S.INVESTIGATED}), S.TOWNSHIP_REVIEWED),
    Step.PUBLISH_NOTICE: Rule(frozenset({S.TOWNSHIP_REVIEWED}), S.NOTICE),
    Step.APPROVE: Rule(frozenset({S.NOTICE}), S.APPROVED),
    Step.REJECT: Rule(frozenset({S.NOTICE}), S.REJECTED, reason_required=True),
    Step.ACTIVATE: Rule(frozenset({S.APPROVED}), S.ACTIVE),
    Step.SUSPEND: Rule(frozenset({S.ACTIVE}), S.SUSPENDED, reason_required=True),
    Step.RESUME: Rule(frozenset({S.SUSPENDED}), S.ACTIVE, reason_required=True),
    Step.TERMINATE: Rule(frozenset({S.ACTIVE, S.SUSPENDED}), S.TERMINATED, reason_required=True),
    Step.ARCHIVE: Rule(frozenset({S.TERMINATED, S.REJECTED}), S.ARCHIVED),
}


@dataclass(frozen=True, slots=True)
class Situation:
    """What a step needs to know besides the status; all dates are Beijing dates."""

    today: dt.date
    notice_ends_on: dt.date | None = None
    status_since: dt.date | None = None
    archive_after_days: int = ARCHIVE_AFTER_DAYS


def notice_end(published_on: dt.date) -> dt.date:
    """The first day a decision may be taken: the notice runs seven full days."""
    return published_on + dt.timedelta(days=NOTICE_DAYS)


def next_status(current: S, step: Step, *, reason: str | None, situation: Situation) -> S:
    rule = RULES[step]
    if current not in rule.sources:
        allowed = ", ".join(sorted(s.value for s in rule.sources))
        raise Conflict(
            f"status: the household is {current.value}; {step.value} needs {allowed}",
            field="status",
        )
    if rule.reason_required and not (reason and reason.strip()):
        raise InvalidInput(f"reason: {step.value} needs a reason", field="reason")
    notice_running = situation.notice_ends_on is None or situation.today < situation.notice_ends_on
    if step in {Step.APPROVE, Step.REJECT} and notice_running:
        ends = situation.notice_ends_on.isoformat() if situation.notice_ends_on else "unknown"
        raise Conflict(
            f"status: the household is NOTICE until {ends}; the notice cannot be cut short",
            field="status",
        )
    if step is Step.ARCHIVE:
        since = situation.status_since or situation.today
        if (situation.today - since).days < situation.archive_after_days:
            raise Conflict(
                f"status: the household is {current.value} since {since.isoformat()}; "
                f"archiving waits {situation.archive_after_days} days",
                field="status",
            )
    return rule.target


class ReviewClass(enum.StrEnum):
    """Re-review schedule (动态管理): A yearly, B half-yearly, C quarterly."""

    A = "A"
    B = "B"
    C = "C"


REVIEW_MONTHS = {ReviewClass.A: 12, ReviewClass.B: 6, ReviewClass.C: 3}


@dataclass(frozen=True, slots=True)
class MemberSituation:
    age: int
    disabled: bool
    seriously_ill: bool
    student: bool
    has_income: bool


def review_class(members: list[MemberSituation]) -> ReviewClass:
    """Stable households are re-reviewed rarely, changeable ones often.

    A: nobody can be expected to work (all elderly, minors, students, disabled
    or seriously ill). C: a working-age member able to work has an income that
    can change from month to month. B: everything between.
    """
    able = [
        m for m in members if 18 <= m.age < 60 and not (m.disabled or m.seriously_ill or m.student)
    ]
    if not able:
        return ReviewClass.A
    if any(m.has_income for m in able):
        return ReviewClass.C
    return ReviewClass.B


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError("unreachable")  # pragma: no cover


def next_review(approved_on: dt.date, klass: ReviewClass) -> dt.date:
    return add_months(approved_on, REVIEW_MONTHS[klass])
