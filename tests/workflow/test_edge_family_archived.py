"""An edge family's flag is cleared on archiving (README, "Special groups"): a refused
household under the edge line is listed by `households(marginal: true)` until it is
archived. Through GraphQL, on both backends."""

from __future__ import annotations

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions, nodes
from tests.workflow.test_review_chain import (
    ARCHIVE,
    REJECT,
    URBAN_STANDARD,
    later,
    ok,
    to_notice,
)
from tests.workflow.test_special_groups import HOUSEHOLD, PAGE


async def test_an_edge_family_is_no_longer_one_once_archived(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    exact = str(URBAN_STANDARD)  # per capita at the standard: refused, under the edge line
    archive = await to_notice(api, worker, incomes=(exact, exact))
    later(runtime, 7)
    assert ok(await api.gql(reviewer, REJECT, {"a": archive}), "rejectApplication")
    got = (await api.gql(worker, HOUSEHOLD, {"a": archive}))["data"]["household"]
    assert got["marginal"] is True
    listed = (await api.gql(worker, PAGE, {"m": True}))["data"]["households"]
    assert [n["archiveNo"] for n in nodes(listed)] == [archive]
    later(runtime, 40)
    archived = ok(await api.gql(reviewer, ARCHIVE, {"a": archive}), "archiveHousehold")
    assert archived["status"] == "ARCHIVED"
    got = (await api.gql(worker, HOUSEHOLD, {"a": archive}))["data"]["household"]
    assert got["marginal"] is False
    listed = (await api.gql(worker, PAGE, {"m": True}))["data"]["households"]
    assert nodes(listed) == [] and listed["totalCount"] == 0
