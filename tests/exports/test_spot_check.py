"""County spot checks (抽查): a reproducible draw from its recorded seed, once per county and
month, and a drawn case cannot be approved before the county's own visit (issue 20).
Both backends."""

from __future__ import annotations

from decimal import Decimal

from domain.spotcheck import draw
from gateway.runtime import Runtime
from resolvers.context import CHINA_TIME
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions
from tests.workflow.test_chain_rules import VISIT
from tests.workflow.test_review_chain import APPROVE, code, later, ok, to_notice

DRAW = """mutation($c: String!, $p: String!, $s: Decimal) {
  drawSpotCheck(countyCode: $c, period: $p, share: $s) {
    id countyCode period share seed candidates drawn drawnBy drawnAt } }"""
COUNTY = "220183"


async def test_the_draw_is_reproducible_once_and_holds_approval(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-1")
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY, principal="cr-1")
    cases = sorted([await to_notice(api, worker) for _ in range(4)])
    period = runtime.clock().astimezone(CHINA_TIME).strftime("%Y-%m")

    found = ok(
        await api.gql(reviewer, DRAW, {"c": COUNTY, "p": period, "s": "0.5"}), "drawSpotCheck"
    )
    assert (found["candidates"], found["share"], found["drawnBy"]) == (4, "0.50", "cr-1")
    assert len(found["drawn"]) == 2 and set(found["drawn"]) <= set(cases)
    # anyone holding the record draws the same cases again from its seed
    assert draw(cases, seed=int(found["seed"]), share=Decimal(found["share"])) == found["drawn"]

    # once per county and month: no second draw until the sample suits
    again = await api.gql(reviewer, DRAW, {"c": COUNTY, "p": period})
    assert code(again) == "CONFLICT"

    later(runtime, 10)  # the notice has run its seven days
    drawn, free = found["drawn"][0], next(c for c in cases if c not in found["drawn"])
    held = await api.gql(reviewer, APPROVE, {"a": drawn})
    assert code(held) == "CONFLICT" and "抽查" in held["errors"][0]["message"]
    ok(await api.gql(reviewer, APPROVE, {"a": free}), "approveApplication")
    ok(await api.gql(reviewer, VISIT, {"a": drawn}), "recordCountyVisit")
    assert ok(await api.gql(reviewer, APPROVE, {"a": drawn}), "approveApplication")["status"] == (
        "APPROVED"
    )


async def test_who_draws_and_where(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    supervisor = await issue_token(runtime, "supervisor", "22")
    elsewhere = await issue_token(runtime, "county_reviewer", "520121")
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    for token in (worker, supervisor):
        assert code(await api.gql(token, DRAW, {"c": COUNTY, "p": "2026-06"})) == "FORBIDDEN"
    assert code(await api.gql(elsewhere, DRAW, {"c": COUNTY, "p": "2026-06"})) == "BAD_USER_INPUT"
    for share in ("0.10", "1.5", "-1"):
        body = await api.gql(reviewer, DRAW, {"c": COUNTY, "p": "2026-06", "s": share})
        assert code(body) == "BAD_USER_INPUT", (share, body)
    # a month with nothing reviewed: the draw is recorded, and empty
    empty = ok(await api.gql(reviewer, DRAW, {"c": COUNTY, "p": "2026-06"}), "drawSpotCheck")
    assert (empty["candidates"], empty["drawn"], empty["share"]) == (0, [], "0.25")
