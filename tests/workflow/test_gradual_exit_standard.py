"""A new standard recomputes the county track's ACTIVE and SUSPENDED households, never one
in its gradual exit (README, "The workflow"): that household keeps the amount it had.
Through GraphQL, on both backends."""

from __future__ import annotations

import datetime as dt

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions
from tests.workflow.test_changes import member_ids
from tests.workflow.test_rechecks import ONE, check
from tests.workflow.test_review_chain import URBAN_STANDARD, ok
from tests.workflow.test_standards_timeliness import SET, active_household


async def test_a_household_in_its_gradual_exit_keeps_its_amount_under_a_new_standard(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    archive, reviewer = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    head, _ = await member_ids(api, worker, archive)
    found = [{"memberId": head, "monthlyIncome": str(URBAN_STANDARD * 3)}]
    exiting = await check(api, worker, archive, "ADJUST", i=found)
    assert exiting["status"] == "GRADUAL_EXIT"
    start = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    raised = str(URBAN_STANDARD * 4)  # far above the household's income: it would be paid more
    change = ok(
        await api.gql(reviewer, SET, {"c": "220183", "amount": raised, "from": start}),
        "setStandard",
    )
    assert change["recomputed"] == 0
    after = (await api.gql(worker, ONE, {"a": archive}))["data"]["household"]
    assert after["status"] == "GRADUAL_EXIT"
    assert after["monthlyBenefit"] == exiting["monthlyBenefit"]
    assert after["benefitHistory"] == exiting["benefitHistory"]
