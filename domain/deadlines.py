"""When a case is due (时限), from its history of steps, in working days (57号).

A case has 30 working days from acceptance to the county's decision, 45 once
extended with a reason. Acceptance starts the clock; a resubmission after
correction (补正) is a new acceptance, so the time spent waiting for materials
never counts. A refusal or a termination must reach the household in writing
(书面通知) within 3 working days of the decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from domain.calendar import WorkingCalendar
from domain.workflow import CASE_DAYS, CASE_DAYS_EXTENDED, STAGE_LIMITS, Step

DECISIONS = frozenset({Step.APPROVE, Step.REJECT, Step.WITHDRAW})
WRITTEN = frozenset({Step.REJECT, Step.TERMINATE})


@dataclass(frozen=True, slots=True)
class CaseDays:
    """The configurable limits: to the decision, extended, and the written notice."""

    decision: int = CASE_DAYS
    extended: int = CASE_DAYS_EXTENDED
    written: int = STAGE_LIMITS["REJECTED"]


@dataclass(frozen=True, slots=True)
class Deadline:
    accepted_on: dt.date
    due_on: dt.date
    extended: bool
    decided_on: dt.date | None  # None: still pending
    working_days_left: int | None  # None once decided; negative: working days past due
    overdue: bool  # decided after the due date, or still pending past it


@dataclass(frozen=True, slots=True)
class WrittenDecision:
    decided_on: dt.date
    due_on: dt.date
    issued_on: dt.date | None
    today: dt.date

    @property
    def overdue(self) -> bool:
        return (self.issued_on or self.today) > self.due_on


Steps = Sequence[tuple[Step, dt.date]]  # a household's steps in order, on Beijing dates


def case_deadline(
    steps: Steps, today: dt.date, calendar: WorkingCalendar, days: CaseDays = CaseDays()
) -> Deadline | None:
    """The deadline of the latest acceptance, or None for a case never accepted."""
    accepted = [i for i, (step, _) in enumerate(steps) if step is Step.ACCEPT]
    if not accepted:
        return None
    start = accepted[-1]
    accepted_on = steps[start][1]
    later = steps[start + 1 :]
    extended = any(step is Step.EXTEND_DEADLINE for step, _ in later)
    due_on = calendar.add(accepted_on, days.extended if extended else days.decision)
    decided_on = next((on for step, on in later if step in DECISIONS), None)
    if decided_on is not None:
        return Deadline(accepted_on, due_on, extended, decided_on, None, decided_on > due_on)
    left = calendar.between(today, due_on) if today <= due_on else -calendar.between(due_on, today)
    return Deadline(accepted_on, due_on, extended, None, left, today > due_on)


def written_decision(
    steps: Steps, today: dt.date, calendar: WorkingCalendar, days: CaseDays = CaseDays()
) -> WrittenDecision | None:
    """The written notice owed for the latest refusal or termination, if there is one."""
    latest = latest_decision(steps)
    if latest is None:
        return None
    decided_on, issued_on = latest
    return WrittenDecision(decided_on, calendar.add(decided_on, days.written), issued_on, today)


def latest_decision(steps: Steps) -> tuple[dt.date, dt.date | None] | None:
    """The day of the latest refusal or termination and the day its written notice was
    recorded (None: not yet); None when the history holds no such decision. The one
    rule for both the deadline shown and the recording of the notice."""
    decisions = [i for i, (step, _) in enumerate(steps) if step in WRITTEN]
    if not decisions:
        return None
    at = decisions[-1]
    issued_on = next((on for step, on in steps[at + 1 :] if step is Step.WRITTEN_DECISION), None)
    return steps[at][1], issued_on


def already_extended(steps: Steps) -> bool:
    """An extension is allowed once per acceptance."""
    accepted = [i for i, (step, _) in enumerate(steps) if step is Step.ACCEPT]
    since = steps[accepted[-1] + 1 :] if accepted else steps
    return any(step is Step.EXTEND_DEADLINE for step, _ in since)
