"""Standards and benefits, timeliness and statistics, through GraphQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    OTHER_COUNTY_VILLAGE,
    RURAL_VILLAGE,
    application,
    issue_token,
    load_regions,
    nodes,
)
from tests.workflow.test_payments import generate, household, payments_of, record, result
from tests.workflow.test_review_chain import (
    ACTIVATE,
    APPROVE,
    SUBMIT,
    URBAN_STANDARD,
    later,
    ok,
    to_notice,
)

SET = """
mutation($c: String!, $amount: Decimal!, $from: Date!) {
  setStandard(countyCode: $c, area: URBAN, monthlyAmount: $amount, effectiveFrom: $from) {
    recomputed flagged standard { monthlyAmount effectiveFrom effectiveTo }
  }
}
"""
ONE = "query($a: String!) { household(archiveNo: $a) { monthlyBenefit stageDays { status days } } }"
STANDARDS = '{ standards(countyCode: "220183") { area monthlyAmount effectiveFrom effectiveTo } }'
OVERDUE = (
    "query($s: HouseholdStatus!) { overdue(stage: $s) { edges { node { archiveNo status } } } }"
)
STATS = """
query($p: String!) { statistics(period: $p) {
  byStatus { area status households } byCategory { category households } payments { area amount } } }
"""


async def active_household(api: Api, runtime: Runtime) -> tuple[str, str]:
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    archive = await to_notice(api, worker)
    later(runtime, 7)
    ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    ok(await api.gql(reviewer, ACTIVATE, {"a": archive}), "activateHousehold")
    return archive, reviewer


async def test_a_new_standard_recomputes_and_flags_active_households(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    archive, reviewer = await active_household(api, runtime)
    before = await api.gql(reviewer, ONE, {"a": archive})
    assert Decimal(before["data"]["household"]["monthlyBenefit"]) == URBAN_STANDARD * 2 - 100
    start = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    change: dict[str, Any] = ok(
        await api.gql(reviewer, SET, {"c": "220183", "amount": "900.50", "from": start}),
        "setStandard",
    )
    assert change == {
        "recomputed": 1,
        "flagged": 1,
        "standard": {"monthlyAmount": "900.50", "effectiveFrom": start, "effectiveTo": None},
    }
    after = await api.gql(reviewer, ONE, {"a": archive})
    assert Decimal(after["data"]["household"]["monthlyBenefit"]) == Decimal(
        "1701.00"
    )  # 900.50*2 - 100
    history = await api.gql(reviewer, STANDARDS)
    urban = [s for s in history["data"]["standards"] if s["area"] == "URBAN"]
    assert [s["monthlyAmount"] for s in urban] == [str(URBAN_STANDARD), "900.50"]
    assert (
        urban[0]["effectiveTo"] == (dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()
    )
    due = await api.gql(
        reviewer,
        "query($b: Date!) { dueForReview(before: $b) { edges { node { archiveNo } } } }",
        {"b": start},
    )
    assert nodes(due["data"]["dueForReview"]) == [{"archiveNo": archive}]
    # not yet in force: replaced by a new standard for the same day
    same_day = await api.gql(reviewer, SET, {"c": "220183", "amount": "950.00", "from": start})
    assert same_day["data"]["setStandard"]["standard"]["monthlyAmount"] == "950.00"
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    denied = await api.gql(worker, SET, {"c": "220183", "amount": "950.00", "from": start})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elsewhere = await issue_token(runtime, "county_reviewer", "520121")
    outside = await api.gql(elsewhere, SET, {"c": "220183", "amount": "950.00", "from": start})
    assert outside["errors"][0]["extensions"]["field"] == "countyCode"


async def test_stage_days_overdue_and_statistics(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    archive, reviewer = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    waiting = ok(await api.gql(worker, SUBMIT, {"input": application()}), "submitApplication")[
        "archiveNo"
    ]
    stages = (await api.gql(reviewer, ONE, {"a": archive}))["data"]["household"]["stageDays"]
    assert [s["status"] for s in stages] == [
        "SUBMITTED", "ACCEPTED", "INVESTIGATED", "TOWNSHIP_REVIEWED", "NOTICE", "APPROVED", "ACTIVE",
    ]  # fmt: skip
    assert stages[4]["days"] >= 7  # the notice ran its seven days
    assert nodes(ok(await api.gql(reviewer, OVERDUE, {"s": "SUBMITTED"}), "overdue")) == []
    # submitted on day 7 of the clock; acceptance allows 3 working days, and two weeks
    # hold more than three, holidays or not (tests/workflow/test_deadlines.py: the edges)
    later(runtime, 7 + 14)
    assert nodes(ok(await api.gql(reviewer, OVERDUE, {"s": "SUBMITTED"}), "overdue")) == [
        {"archiveNo": waiting, "status": "SUBMITTED"}
    ]
    stats = ok(await api.gql(reviewer, STATS, {"p": "2026-11"}), "statistics")
    assert {"area": "URBAN", "status": "ACTIVE", "households": 1} in stats["byStatus"]
    assert {"area": "URBAN", "status": "SUBMITTED", "households": 1} in stats["byStatus"]
    assert {c["category"] for c in stats["byCategory"]} == {
        "DISABLED",
        "ELDERLY",
        "MINOR",
        "SERIOUSLY_ILL",
    }
    far = await issue_token(runtime, "supervisor", "52")
    empty = ok(await api.gql(far, STATS, {"p": "2026-11"}), "statistics")
    assert empty["byStatus"] == []


async def test_payment_statistics_count_and_sum_each_area_and_status(
    api: Api, runtime: Runtime
) -> None:
    """Per track and status: how many payments of the period and their sum to the cent,
    inside the caller's scope only (another county's batch of the same month stays out)."""
    await load_regions(runtime)
    urban = [await household(runtime, benefit=b) for b in ("333.33", "0.10", "0.20")]
    await household(runtime, village=RURAL_VILLAGE, benefit="200.00")
    await household(runtime, village=OTHER_COUNTY_VILLAGE, benefit="999.00")
    finance = await issue_token(runtime, "finance_officer", "220183")
    result(await generate(api, finance, "2026-05"))
    result(await generate(api, finance, "2026-04"))  # another period: not counted
    guizhou = await issue_token(runtime, "finance_officer", "520121")
    result(await generate(api, guizhou, "2026-05", county="520121"))
    [paid] = [p for p in await payments_of(api, finance, urban[0]) if p["period"] == "2026-05"]
    assert "errors" not in await record(api, finance, paid["id"], "DISBURSED", ref="R1")

    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    query = """query($p: String!) { statistics(period: $p) {
      byCategory { category households } payments { area status payments amount } } }"""
    stats = ok(await api.gql(reviewer, query, {"p": "2026-05"}), "statistics")
    # the four active households in the county each have one member born in the 1950s
    assert stats["byCategory"] == [
        {"category": "DISABLED", "households": 0},
        {"category": "ELDERLY", "households": 4},
        {"category": "MINOR", "households": 0},
        {"category": "SERIOUSLY_ILL", "households": 0},
    ]
    assert stats["payments"] == [
        {"area": "RURAL", "status": "PENDING", "payments": 1, "amount": "200.00"},
        {"area": "URBAN", "status": "DISBURSED", "payments": 1, "amount": "333.33"},
        {"area": "URBAN", "status": "PENDING", "payments": 2, "amount": "0.30"},
    ]
