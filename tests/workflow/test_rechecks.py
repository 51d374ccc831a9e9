"""Periodic re-checks (定期核查), gradual exit (渐退期) and its end, through GraphQL.

A re-check moves the next one forward by the household's interval and takes it off
`dueForReview`; an income above the line never leaves an ACTIVE household with a
zero benefit: it enters its gradual exit, is paid until it ends, and is then
terminated with the reason income above the line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from domain.benefit import next_month_start
from domain.workflow import REVIEW_MONTHS, ReviewClass, add_months
from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions, nodes
from tests.workflow.test_changes import CHANGE, member_ids
from tests.workflow.test_review_chain import URBAN_STANDARD, code, later, ok
from tests.workflow.test_standards_timeliness import SET, active_household

STATE = (
    "status reviewClass nextReviewOn monthlyBenefit gradualExitUntil terminationProposal "
    "terminationReason benefitHistory { amount reason } reviews { step details }"
)
CHECK = (
    "mutation($a: String!, $o: ReviewOutcome!, $i: [MemberIncomeInput!], "
    "$t: TerminationReason) { completeReview(archiveNo: $a, outcome: $o, "
    f'findings: "入户核查", incomes: $i, terminationReason: $t) {{ {STATE} }} }}'
)
DUE = "query($b: Date!) { dueForReview(before: $b) { edges { node { archiveNo } } } }"
ONE = f"query($a: String!) {{ household(archiveNo: $a) {{ {STATE} }} }}"
END = "mutation { endGradualExits }"
GENERATE = (
    'mutation($p: String!) { generatePayments(countyCode: "220183", period: $p) '
    "{ created totalAmount } }"
)


def beijing_today(runtime: Runtime) -> dt.date:
    return runtime.clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date()


async def check(api: Api, token: str, archive: str, outcome: str, **more: Any) -> dict[str, Any]:
    body = await api.gql(token, CHECK, {"a": archive, "o": outcome, **more})
    return ok(body, "completeReview")


async def test_a_recheck_moves_the_next_one_forward(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    archive, reviewer = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    first = (await api.gql(worker, ONE, {"a": archive}))["data"]["household"]
    due_day = dt.date.fromisoformat(first["nextReviewOn"])
    later(runtime, (due_day - dt.date.today()).days + 1)  # the check is due now
    assert nodes((await api.gql(worker, DUE, {"b": due_day.isoformat()}))["data"]["dueForReview"])
    assert code(await api.gql(reviewer, CHECK, {"a": archive, "o": "CONTINUE"})) == "FORBIDDEN"
    done = await check(api, worker, archive, "CONTINUE")
    today = beijing_today(runtime)
    months = REVIEW_MONTHS[ReviewClass(done["reviewClass"])]
    assert done["nextReviewOn"] == add_months(today, months).isoformat()
    assert done["reviews"][-1] == {"step": "COMPLETE_REVIEW", "details": {"outcome": "CONTINUE"}}
    assert done["status"] == "ACTIVE"
    left = await api.gql(worker, DUE, {"b": today.isoformat()})
    assert nodes(left["data"]["dueForReview"]) == []
    # the outcome decides what else it needs
    bad = await api.gql(worker, CHECK, {"a": archive, "o": "ADJUST"})
    assert code(bad) == "BAD_USER_INPUT"
    bad = await api.gql(worker, CHECK, {"a": archive, "o": "PROPOSE_TERMINATION"})
    assert code(bad) == "BAD_USER_INPUT"
    proposed = await check(api, worker, archive, "PROPOSE_TERMINATION", t="REFUSED_REVIEW")
    assert proposed["terminationProposal"] == "REFUSED_REVIEW"


async def test_adjust_recomputes_the_benefit_by_member_id(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    archive, _ = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    head, spouse = await member_ids(api, worker, archive)
    found = [{"memberId": head, "monthlyIncome": "200.00"}]
    adjusted = await check(api, worker, archive, "ADJUST", i=found)
    assert Decimal(adjusted["monthlyBenefit"]) == URBAN_STANDARD * 2 - Decimal("300.00")
    assert adjusted["benefitHistory"][-1]["reason"] == "periodic check"
    assert adjusted["status"] == "ACTIVE"
    stranger = [{"memberId": "f" * 32, "monthlyIncome": "1.00"}]
    assert code(await api.gql(worker, CHECK, {"a": archive, "o": "ADJUST", "i": stranger})) == (
        "BAD_USER_INPUT"
    )
    twice = [{"memberId": spouse, "monthlyIncome": "1.00"}] * 2
    assert code(await api.gql(worker, CHECK, {"a": archive, "o": "ADJUST", "i": twice})) == (
        "BAD_USER_INPUT"
    )


async def test_income_above_the_line_is_a_gradual_exit_then_the_end(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    archive, reviewer = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    finance = await issue_token(runtime, "finance_officer", "220183")
    before = (await api.gql(worker, ONE, {"a": archive}))["data"]["household"]
    head, _ = await member_ids(api, worker, archive)
    above = str(URBAN_STANDARD * 3)
    found = [{"memberId": head, "monthlyIncome": above}]
    exiting = await check(api, worker, archive, "ADJUST", i=found)
    assert exiting["status"] == "GRADUAL_EXIT"
    assert exiting["monthlyBenefit"] == before["monthlyBenefit"]  # kept, never zero
    today = beijing_today(runtime)
    assert exiting["gradualExitUntil"] == add_months(today, 6).isoformat()
    assert [r["step"] for r in exiting["reviews"][-2:]] == ["COMPLETE_REVIEW", "ENTER_GRADUAL_EXIT"]
    # paid during the gradual exit, from the month after the approval
    period = f"{next_month_start(today):%Y-%m}"
    paid = ok(await api.gql(finance, GENERATE, {"p": period}), "generatePayments")
    assert paid == {"created": 1, "totalAmount": before["monthlyBenefit"]}
    # not ended yet: nothing to do; the township may not end it
    assert ok(await api.gql(reviewer, END), "endGradualExits") == []
    assert code(await api.gql(worker, END)) == "FORBIDDEN"
    later(runtime, 7 + 6 * 31 + 1)
    assert ok(await api.gql(reviewer, END), "endGradualExits") == [archive]
    ended = (await api.gql(worker, ONE, {"a": archive}))["data"]["household"]
    assert ended["status"] == "TERMINATED"
    assert ended["terminationReason"] == "INCOME_ABOVE_LINE"
    next_period = f"{beijing_today(runtime):%Y-%m}"
    none = ok(await api.gql(finance, GENERATE, {"p": next_period}), "generatePayments")
    assert none["created"] == 0


async def test_a_reported_income_above_the_line_never_leaves_a_zero_benefit(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    archive, _ = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    head, _ = await member_ids(api, worker, archive)
    change = {
        "kind": "INCOME",
        "reason": "外出务工收入",
        "memberId": head,
        "monthlyIncome": str(URBAN_STANDARD * 3),
    }
    body = ok(await api.gql(worker, CHANGE, {"a": archive, "c": change}), "reportChange")
    assert body["status"] == "GRADUAL_EXIT"
    assert Decimal(body["monthlyBenefit"]) > 0


async def test_the_gradual_exit_period_is_configurable(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    archive, _ = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    head, _ = await member_ids(api, worker, archive)
    runtime.settings = dataclasses.replace(runtime.settings, gradual_exit_months=3)
    found = [{"memberId": head, "monthlyIncome": str(URBAN_STANDARD * 3)}]
    exiting = await check(api, worker, archive, "ADJUST", i=found)
    assert exiting["gradualExitUntil"] == add_months(beijing_today(runtime), 3).isoformat()


async def test_a_standard_below_the_household_keeps_its_benefit_until_the_check(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    archive, reviewer = await active_household(api, runtime)  # incomes 0 and 100
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    before = (await api.gql(worker, ONE, {"a": archive}))["data"]["household"]
    today = beijing_today(runtime)
    lowered = ok(
        await api.gql(reviewer, SET, {"c": "220183", "amount": "40.00", "from": today.isoformat()}),
        "setStandard",
    )
    assert lowered["flagged"] == 1
    kept = (await api.gql(worker, ONE, {"a": archive}))["data"]["household"]
    assert kept["status"] == "ACTIVE"
    assert kept["monthlyBenefit"] == before["monthlyBenefit"]  # never zero
    due = await api.gql(worker, DUE, {"b": today.isoformat()})
    assert nodes(due["data"]["dueForReview"]) == [{"archiveNo": archive}]
    # the check finds it above the line: its gradual exit begins
    checked = await check(api, worker, archive, "CONTINUE")
    assert checked["status"] == "GRADUAL_EXIT"
    assert checked["monthlyBenefit"] == before["monthlyBenefit"]
