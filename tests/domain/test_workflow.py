"""The state machine, exhaustively: every step from every status."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.enums import HouseholdStatus as S
from domain.errors import Conflict, InvalidInput
from domain.workflow import (
    RULES,
    MemberSituation,
    ReviewClass,
    Situation,
    Step,
    add_months,
    next_review,
    next_status,
    notice_end,
    review_class,
)

TODAY = dt.date(2026, 11, 27)
OPEN = Situation(today=TODAY, notice_ends_on=TODAY, status_since=TODAY - dt.timedelta(days=60))

LEGAL = {
    (S.DRAFT, Step.SUBMIT): S.SUBMITTED,
    (S.SUBMITTED, Step.RETURN_FOR_CORRECTION): S.AWAITING_CORRECTION,
    (S.AWAITING_CORRECTION, Step.RESUBMIT): S.SUBMITTED,
    (S.SUBMITTED, Step.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, Step.INVESTIGATE): S.INVESTIGATED,
    (S.INVESTIGATED, Step.TOWNSHIP_REVIEW): S.TOWNSHIP_REVIEWED,
    (S.TOWNSHIP_REVIEWED, Step.PUBLISH_NOTICE): S.NOTICE,
    (S.NOTICE, Step.DISMISS_OBJECTION): S.NOTICE,
    (S.NOTICE, Step.UPHOLD_OBJECTION): S.INVESTIGATED,
    (S.TOWNSHIP_REVIEWED, Step.COUNTY_VISIT): S.TOWNSHIP_REVIEWED,
    (S.NOTICE, Step.COUNTY_VISIT): S.NOTICE,
    (S.NOTICE, Step.APPROVE): S.APPROVED,
    # the deadline is extended while the case is pending (30 to 45 working days)
    (S.ACCEPTED, Step.EXTEND_DEADLINE): S.ACCEPTED,
    (S.INVESTIGATED, Step.EXTEND_DEADLINE): S.INVESTIGATED,
    (S.TOWNSHIP_REVIEWED, Step.EXTEND_DEADLINE): S.TOWNSHIP_REVIEWED,
    (S.NOTICE, Step.EXTEND_DEADLINE): S.NOTICE,
    # a department's answer is taken into the archive of a case not yet decided
    (S.ACCEPTED, Step.ADOPT_FINDINGS): S.ACCEPTED,
    (S.INVESTIGATED, Step.ADOPT_FINDINGS): S.INVESTIGATED,
    (S.TOWNSHIP_REVIEWED, Step.ADOPT_FINDINGS): S.TOWNSHIP_REVIEWED,
    (S.NOTICE, Step.ADOPT_FINDINGS): S.NOTICE,
    # the written notice follows a refusal or a termination
    (S.REJECTED, Step.WRITTEN_DECISION): S.REJECTED,
    (S.TERMINATED, Step.WRITTEN_DECISION): S.TERMINATED,
    # refusal without a notice: only cases proposed for approval are posted
    (S.ACCEPTED, Step.REJECT): S.REJECTED,
    (S.INVESTIGATED, Step.REJECT): S.REJECTED,
    (S.TOWNSHIP_REVIEWED, Step.REJECT): S.REJECTED,
    (S.NOTICE, Step.REJECT): S.REJECTED,
    (S.SUBMITTED, Step.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_CORRECTION, Step.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, Step.WITHDRAW): S.WITHDRAWN,
    (S.INVESTIGATED, Step.WITHDRAW): S.WITHDRAWN,
    (S.TOWNSHIP_REVIEWED, Step.WITHDRAW): S.WITHDRAWN,
    (S.NOTICE, Step.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, Step.ACTIVATE): S.ACTIVE,
    (S.ACTIVE, Step.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, Step.RESUME): S.ACTIVE,
    (S.ACTIVE, Step.COMPLETE_REVIEW): S.ACTIVE,
    (S.SUSPENDED, Step.COMPLETE_REVIEW): S.SUSPENDED,
    (S.ACTIVE, Step.ENTER_GRADUAL_EXIT): S.GRADUAL_EXIT,
    (S.ACTIVE, Step.PROPOSE_TERMINATION): S.ACTIVE,
    (S.SUSPENDED, Step.PROPOSE_TERMINATION): S.SUSPENDED,
    (S.GRADUAL_EXIT, Step.PROPOSE_TERMINATION): S.GRADUAL_EXIT,
    (S.ACTIVE, Step.TERMINATE): S.TERMINATED,
    (S.SUSPENDED, Step.TERMINATE): S.TERMINATED,
    (S.GRADUAL_EXIT, Step.TERMINATE): S.TERMINATED,
    (S.TERMINATED, Step.ARCHIVE): S.ARCHIVED,
    (S.REJECTED, Step.ARCHIVE): S.ARCHIVED,
    (S.WITHDRAWN, Step.ARCHIVE): S.ARCHIVED,
    # an imported archive enters in its register's status: the step itself moves nothing
    (S.DRAFT, Step.IMPORTED): S.DRAFT,
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("step", list(Step))
def test_every_step_from_every_status(status: S, step: Step) -> None:
    expected = LEGAL.get((status, step))
    if expected is not None:
        assert next_status(status, step, reason="because", situation=OPEN) is expected
        return
    with pytest.raises(Conflict) as refused:
        next_status(status, step, reason="because", situation=OPEN)
    assert status.value in refused.value.message  # the current state is named
    assert refused.value.field == "status"


def test_the_table_is_exactly_the_legal_set() -> None:
    table = {
        (src, step): rule.target or src for step, rule in RULES.items() for src in rule.sources
    }
    assert table == LEGAL


@pytest.mark.parametrize("step", [s for s, rule in RULES.items() if rule.reason_required])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reasons_are_required(step: Step, reason: str | None) -> None:
    source = next(iter(RULES[step].sources))
    with pytest.raises(InvalidInput) as refused:
        next_status(source, step, reason=reason, situation=OPEN)
    assert refused.value.field == "reason"


def test_notice_cannot_be_cut_short() -> None:
    published = dt.date(2026, 11, 20)
    ends = notice_end(published)
    assert ends == dt.date(2026, 11, 27)
    for day in (published, ends - dt.timedelta(days=1)):
        with pytest.raises(Conflict, match="cannot be cut short"):
            next_status(S.NOTICE, Step.APPROVE, reason=None, situation=Situation(day, ends))
    assert (
        next_status(S.NOTICE, Step.APPROVE, reason=None, situation=Situation(ends, ends))
        is S.APPROVED
    )
    with pytest.raises(Conflict):
        next_status(S.NOTICE, Step.REJECT, reason="x", situation=Situation(TODAY, None))
    # before the notice there is no notice to wait for
    assert (
        next_status(S.INVESTIGATED, Step.REJECT, reason="x", situation=Situation(TODAY, None))
        is S.REJECTED
    )


def test_approval_keeps_the_chain_separate() -> None:
    ends = TODAY

    def approve(**situation: object) -> S:
        return next_status(
            S.NOTICE,
            Step.APPROVE,
            reason=None,
            situation=Situation(TODAY, ends, actor="li", **situation),  # type: ignore[arg-type]
        )

    assert approve() is S.APPROVED
    with pytest.raises(Conflict, match="objection"):
        approve(open_objections=1)
    with pytest.raises(Conflict, match="recorded by you"):
        approve(township_reviewers=frozenset({"li"}))
    assert approve(township_reviewers=frozenset({"zhang"})) is S.APPROVED
    with pytest.raises(Conflict, match="relative of staff"):
        approve(county_visit_needed=True)
    assert approve(county_visit_needed=True, county_visited=True) is S.APPROVED


def test_archiving_waits_for_the_configured_period() -> None:
    recent = Situation(TODAY, status_since=TODAY - dt.timedelta(days=29))
    with pytest.raises(Conflict, match="waits 30 days"):
        next_status(S.TERMINATED, Step.ARCHIVE, reason=None, situation=recent)
    old = Situation(TODAY, status_since=TODAY - dt.timedelta(days=30))
    assert next_status(S.TERMINATED, Step.ARCHIVE, reason=None, situation=old) is S.ARCHIVED


def m(age: int, **flags: bool) -> MemberSituation:
    return MemberSituation(
        age=age,
        disabled=flags.get("disabled", False),
        seriously_ill=flags.get("ill", False),
        student=flags.get("student", False),
        has_income=flags.get("income", False),
    )


def test_review_class_follows_the_household_situation() -> None:
    assert review_class([m(72), m(68, disabled=True)]) is ReviewClass.A
    assert review_class([m(45, ill=True), m(12)]) is ReviewClass.A
    assert review_class([m(40), m(10)]) is ReviewClass.B
    assert review_class([m(40, income=True), m(10)]) is ReviewClass.C


def test_review_dates() -> None:
    # 57号 by default: yearly, half-yearly where someone able to work has irregular income
    assert next_review(dt.date(2026, 1, 31), ReviewClass.C) == dt.date(2026, 7, 31)
    assert next_review(dt.date(2026, 8, 31), ReviewClass.B) == dt.date(2027, 2, 28)
    local = {ReviewClass.A: 12, ReviewClass.B: 6, ReviewClass.C: 3}
    assert next_review(dt.date(2026, 1, 31), ReviewClass.C, local) == dt.date(2026, 4, 30)
    assert next_review(dt.date(2024, 2, 29), ReviewClass.A) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)
