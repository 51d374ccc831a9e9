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

NOTICE_DAYS = 7  # public notice (公示) lasts seven full (calendar) days
ARCHIVE_AFTER_DAYS = 30  # terminated or rejected archives are archived (归档) after this
# working days a household may stay in a stage before it is overdue (时效性): acceptance 3,
# investigation 10, township review 5, publication 3, the county's decision 10 after the
# notice ends (the clock of NOTICE starts at the notice's end), activation 5, and the
# written notice of a refusal or a termination 3 after the decision (57号)
STAGE_LIMITS: dict[str, int] = {
    "SUBMITTED": 3,
    "ACCEPTED": 10,
    "INVESTIGATED": 5,
    "TOWNSHIP_REVIEWED": 3,
    "NOTICE": 10,
    "APPROVED": 5,
    "REJECTED": 3,
    "TERMINATED": 3,
}
# stages whose clock stops once the written decision (书面通知) is recorded
WRITTEN_DECISION_STAGES = frozenset({"REJECTED", "TERMINATED"})
CASE_DAYS = 30  # working days from acceptance to the decision (57号)
CASE_DAYS_EXTENDED = 45  # once, with a reason, for a complicated case


class Step(enum.StrEnum):
    SUBMIT = "SUBMIT"
    RETURN_FOR_CORRECTION = "RETURN_FOR_CORRECTION"  # 补正: materials missing
    RESUBMIT = "RESUBMIT"
    ACCEPT = "ACCEPT"
    INVESTIGATE = "INVESTIGATE"
    TOWNSHIP_REVIEW = "TOWNSHIP_REVIEW"
    PUBLISH_NOTICE = "PUBLISH_NOTICE"
    DISMISS_OBJECTION = "DISMISS_OBJECTION"
    UPHOLD_OBJECTION = "UPHOLD_OBJECTION"  # back to INVESTIGATED for re-investigation
    COUNTY_VISIT = "COUNTY_VISIT"  # the county's own home visit (staff relatives)
    EXTEND_DEADLINE = "EXTEND_DEADLINE"  # 30 to 45 working days, once, with a reason
    ADOPT_FINDINGS = "ADOPT_FINDINGS"  # a department's answer taken into the archive (核对)
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    WITHDRAW = "WITHDRAW"
    ACTIVATE = "ACTIVATE"
    SUSPEND = "SUSPEND"
    RESUME = "RESUME"
    COMPLETE_REVIEW = "COMPLETE_REVIEW"  # the periodic re-check (定期核查)
    ENTER_GRADUAL_EXIT = "ENTER_GRADUAL_EXIT"
    PROPOSE_TERMINATION = "PROPOSE_TERMINATION"
    TERMINATE = "TERMINATE"
    ARCHIVE = "ARCHIVE"
    WRITTEN_DECISION = "WRITTEN_DECISION"  # the refusal or termination notice (书面通知) sent
    # an archive brought in whole from a legacy register (bulk import): it enters the
    # service in the status the register gives (one of IMPORTED_STATUSES), so the step
    # has no target of its own; its record names the source file's SHA-256
    IMPORTED = "IMPORTED"


@dataclass(frozen=True, slots=True)
class Rule:
    sources: frozenset[S]
    target: S | None  # None: the step is recorded, the status stays
    reason_required: bool = False


PENDING = frozenset({S.ACCEPTED, S.INVESTIGATED, S.TOWNSHIP_REVIEWED, S.NOTICE})
PAID = frozenset({S.ACTIVE, S.SUSPENDED, S.GRADUAL_EXIT})

RULES: dict[Step, Rule] = {
    Step.SUBMIT: Rule(frozenset({S.DRAFT}), S.SUBMITTED),
    Step.RETURN_FOR_CORRECTION: Rule(frozenset({S.SUBMITTED}), S.AWAITING_CORRECTION),
    Step.RESUBMIT: Rule(frozenset({S.AWAITING_CORRECTION}), S.SUBMITTED),
    Step.ACCEPT: Rule(frozenset({S.SUBMITTED}), S.ACCEPTED),
    Step.INVESTIGATE: Rule(frozenset({S.ACCEPTED}), S.INVESTIGATED),
    Step.TOWNSHIP_REVIEW: Rule(frozenset({S.INVESTIGATED}), S.TOWNSHIP_REVIEWED),
    Step.PUBLISH_NOTICE: Rule(frozenset({S.TOWNSHIP_REVIEWED}), S.NOTICE),
    Step.DISMISS_OBJECTION: Rule(frozenset({S.NOTICE}), None, reason_required=True),
    Step.UPHOLD_OBJECTION: Rule(frozenset({S.NOTICE}), S.INVESTIGATED, reason_required=True),
    Step.COUNTY_VISIT: Rule(frozenset({S.TOWNSHIP_REVIEWED, S.NOTICE}), None, reason_required=True),
    Step.EXTEND_DEADLINE: Rule(PENDING, None, reason_required=True),
    Step.ADOPT_FINDINGS: Rule(PENDING, None, reason_required=True),
    Step.APPROVE: Rule(frozenset({S.NOTICE}), S.APPROVED),
    # refusal needs no notice: only cases proposed for approval are posted (57号)
    Step.REJECT: Rule(PENDING, S.REJECTED, reason_required=True),
    Step.WITHDRAW: Rule(
        PENDING | {S.SUBMITTED, S.AWAITING_CORRECTION}, S.WITHDRAWN, reason_required=True
    ),
    Step.ACTIVATE: Rule(frozenset({S.APPROVED}), S.ACTIVE),
    Step.SUSPEND: Rule(frozenset({S.ACTIVE}), S.SUSPENDED, reason_required=True),
    Step.RESUME: Rule(frozenset({S.SUSPENDED}), S.ACTIVE, reason_required=True),
    Step.COMPLETE_REVIEW: Rule(frozenset({S.ACTIVE, S.SUSPENDED}), None, reason_required=True),
    Step.ENTER_GRADUAL_EXIT: Rule(frozenset({S.ACTIVE}), S.GRADUAL_EXIT, reason_required=True),
    Step.PROPOSE_TERMINATION: Rule(PAID, None, reason_required=True),
    Step.TERMINATE: Rule(PAID, S.TERMINATED, reason_required=True),
    Step.ARCHIVE: Rule(frozenset({S.TERMINATED, S.REJECTED, S.WITHDRAWN}), S.ARCHIVED),
    Step.WRITTEN_DECISION: Rule(frozenset({S.REJECTED, S.TERMINATED}), None, reason_required=True),
    Step.IMPORTED: Rule(frozenset({S.DRAFT}), None, reason_required=True),
}
# the statuses a legacy register's household may enter in (domain/legacy.py STATUSES)
IMPORTED_STATUSES = frozenset({S.ACTIVE, S.SUSPENDED, S.TERMINATED})


@dataclass(frozen=True, slots=True)
class Situation:
    """What a step needs to know besides the status; all dates are Beijing dates."""

    today: dt.date
    notice_ends_on: dt.date | None = None
    status_since: dt.date | None = None
    archive_after_days: int = ARCHIVE_AFTER_DAYS
    # separation inside the chain (approval only)
    actor: str | None = None
    township_reviewers: frozenset[str] = frozenset()
    open_objections: int = 0
    county_visit_needed: bool = False  # a member is a relative of staff (近亲属备案)
    county_visited: bool = False
    spot_checked: bool = False  # drawn for the county's spot check (抽查)


def notice_end(published_on: dt.date) -> dt.date:
    """The first day a decision may be taken: the notice runs seven full days."""
    return published_on + dt.timedelta(days=NOTICE_DAYS)


def _conflict(message: str) -> Conflict:
    return Conflict(f"status: {message}", field="status")


def next_status(current: S, step: Step, *, reason: str | None, situation: Situation) -> S:
    """The status after `step`, or a CONFLICT naming why it cannot be taken now."""
    rule = RULES[step]
    if current not in rule.sources:
        allowed = ", ".join(sorted(s.value for s in rule.sources))
        raise _conflict(f"the household is {current.value}; {step.value} needs {allowed}")
    if rule.reason_required and not (reason and reason.strip()):
        raise InvalidInput(f"reason: {step.value} needs a reason", field="reason")
    notice_running = situation.notice_ends_on is None or situation.today < situation.notice_ends_on
    if current is S.NOTICE and step in {Step.APPROVE, Step.REJECT} and notice_running:
        ends = situation.notice_ends_on.isoformat() if situation.notice_ends_on else "unknown"
        raise _conflict(f"the household is NOTICE until {ends}; the notice cannot be cut short")
    if step is Step.APPROVE:
        _check_approval(situation)
    if step is Step.ARCHIVE:
        since = situation.status_since or situation.today
        if (situation.today - since).days < situation.archive_after_days:
            raise _conflict(
                f"the household is {current.value} since {since.isoformat()}; "
                f"archiving waits {situation.archive_after_days} days"
            )
    return current if rule.target is None else rule.target


def _check_approval(situation: Situation) -> None:
    if situation.open_objections:
        raise _conflict(
            f"{situation.open_objections} objection(s) still open; dismiss or uphold them first"
        )
    if situation.actor is not None and situation.actor in situation.township_reviewers:
        raise _conflict(
            "the township review of this case was recorded by you; another reviewer approves"
        )
    if situation.county_visit_needed and not situation.county_visited:
        raise _conflict(
            "a member is a relative of staff (近亲属备案); a county home visit is needed first"
        )
    if situation.spot_checked and not situation.county_visited:
        raise _conflict(
            "the case was drawn for the county's spot check (抽查); a county home visit "
            "is needed first"
        )


class ReviewClass(enum.StrEnum):
    """Re-review schedule (动态管理): A yearly, B half-yearly, C quarterly."""

    A = "A"
    B = "B"
    C = "C"


# interval in months per class. The default follows 57号: a yearly check, half-yearly
# where a member able to work has an irregular income (B, C); a county may configure
# its local A/B/C scheme (DIBAO_REVIEW_MONTHS, e.g. `A=12,B=6,C=3`)
REVIEW_MONTHS: dict[ReviewClass, int] = {ReviewClass.A: 12, ReviewClass.B: 6, ReviewClass.C: 6}
GRADUAL_EXIT_MONTHS = 6  # a household above the line keeps its benefit this long (渐退期)


@dataclass(frozen=True, slots=True)
class MemberSituation:
    age: int
    disabled: bool  # severely (grade 1-2): not expected to work; the seed and service agree
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


def next_review(
    approved_on: dt.date, klass: ReviewClass, months: dict[ReviewClass, int] | None = None
) -> dt.date:
    """The next periodic check after a decision or a check on `approved_on`."""
    return add_months(approved_on, (months or REVIEW_MONTHS)[klass])


def gradual_exit_end(entered_on: dt.date, months: int = GRADUAL_EXIT_MONTHS) -> dt.date:
    """The day a gradual exit ends: the benefit is paid for the months before it."""
    return add_months(entered_on, months)
