"""Staff assessment (考核) from the review chain: what each principal did, how fast, and
what came of it. Pure: the store hands the steps in, the calendar counts the days.

Definitions (the README repeats them for the officials who read the file):
- cases: distinct households on which the principal recorded the step in the period;
- working days: from the case's previous recorded step to this one (WorkingCalendar);
  the median per principal and step, over the steps that had a previous one;
- past deadline: steps that took longer than their stage's limit (STAGE_LIMITS of the
  status the step left);
- returned or reopened: steps after which the same case was later sent back for
  materials (RETURN_FOR_CORRECTION) or re-investigated on an upheld objection;
- false information: the principal's approvals whose household was terminated for
  FALSE_INFORMATION within twelve months of that approval.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from domain.calendar import WorkingCalendar
from domain.enums import TerminationReason
from domain.workflow import Step

SENT_BACK = frozenset({Step.RETURN_FOR_CORRECTION.value, Step.UPHOLD_OBJECTION.value})
MONTHS_AFTER_APPROVAL = 12


@dataclass(frozen=True, slots=True)
class StepRecord:
    archive_no: str
    step: str
    from_status: str | None
    actor: str
    actor_role: str
    on: dt.date  # the Beijing date it was recorded
    at: dt.datetime  # the instant, to order a case's steps
    reasons: tuple[str, ...] = ()  # a termination's coded reasons


@dataclass
class StepFigures:
    principal: str
    role: str
    step: str
    cases: set[str] = field(default_factory=set)
    days: list[int] = field(default_factory=list)
    past_deadline: int = 0
    sent_back: int = 0
    false_information: int = 0

    @property
    def median_days(self) -> Decimal | None:
        if not self.days:
            return None
        return Decimal(str(statistics.median(self.days))).quantize(Decimal("0.1"))


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def assess(
    records: Iterable[StepRecord],
    *,
    since: dt.date,
    until: dt.date,
    calendar: WorkingCalendar,
    limits: Mapping[str, int],
) -> list[StepFigures]:
    """Figures per (principal, step) for the steps recorded from `since` to `until`
    (inclusive), in principal and step order. `records` holds every step of the cases
    concerned, before and after the period too (the previous step, later returns)."""
    by_case: dict[str, list[StepRecord]] = defaultdict(list)
    for record in records:
        by_case[record.archive_no].append(record)
    figures: dict[tuple[str, str], StepFigures] = {}
    for steps in by_case.values():
        steps.sort(key=lambda r: r.at)
        for i, record in enumerate(steps):
            if not since <= record.on <= until:
                continue
            key = (record.actor, record.step)
            found = figures.get(key)
            if found is None:
                found = figures[key] = StepFigures(record.actor, record.actor_role, record.step)
            found.cases.add(record.archive_no)
            if i > 0:
                days = calendar.between(steps[i - 1].on, record.on)
                found.days.append(days)
                limit = limits.get(record.from_status or "")
                if limit is not None and days > limit:
                    found.past_deadline += 1
            later = steps[i + 1 :]
            if any(r.step in SENT_BACK for r in later):
                found.sent_back += 1
            if record.step == Step.APPROVE.value:
                within = _add_months(record.on, MONTHS_AFTER_APPROVAL)
                if any(
                    r.step == Step.TERMINATE.value
                    and TerminationReason.FALSE_INFORMATION.value in r.reasons
                    and r.on <= within
                    for r in later
                ):
                    found.false_information += 1
    return [figures[k] for k in sorted(figures)]
