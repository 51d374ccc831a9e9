"""The demo data lets front-end developers see every state with the demo's own tokens."""

from __future__ import annotations

import datetime as dt

from domain.enums import Area, HouseholdStatus
from gateway.cli import DEMO_HOUSEHOLDS, DEMO_SCOPES, DEMO_SEED
from gateway.runtime import Runtime
from store.seed import seed
from tests.conftest import Api
from tests.helpers import issue_token

COUNT = (
    "query($s: HouseholdStatus!, $a: Area!) { households(status: [$s], area: $a) { totalCount } }"
)


async def test_every_state_on_both_tracks_in_the_demo_caseworkers_township(
    api: Api, runtime: Runtime
) -> None:
    await seed(runtime.engine, runtime.cipher, households=DEMO_HOUSEHOLDS, seed=DEMO_SEED)
    scope = DEMO_SCOPES[next(r for r in DEMO_SCOPES if r.value == "caseworker")]
    token = await issue_token(runtime, "caseworker", scope)
    missing = []
    for status in HouseholdStatus:
        for area in Area:
            body = await api.gql(token, COUNT, {"s": status.value, "a": area.value})
            if body["data"]["households"]["totalCount"] < 1:
                missing.append((status.value, area.value))
    assert missing == []


async def test_the_demo_township_shows_an_open_objection_a_check_due_and_a_late_case(
    api: Api, runtime: Runtime
) -> None:
    await seed(runtime.engine, runtime.cipher, households=DEMO_HOUSEHOLDS, seed=DEMO_SEED)
    scope = DEMO_SCOPES[next(r for r in DEMO_SCOPES if r.value == "caseworker")]
    token = await issue_token(runtime, "caseworker", scope)
    notices = await api.gql(
        token,
        "{ households(status: [NOTICE], first: 50) { edges { node { objections { status } } } } }",
    )
    statuses = [
        o["status"]
        for edge in notices["data"]["households"]["edges"]
        for o in edge["node"]["objections"]
    ]
    assert "OPEN" in statuses
    today = dt.datetime.now(dt.UTC).date().isoformat()
    due = await api.gql(
        token,
        "query($b: Date!) { dueForReview(before: $b) { edges { node { archiveNo } } } }",
        {"b": today},
    )
    assert due["data"]["dueForReview"]["edges"]
    late = await api.gql(
        token,
        "{ overdue(stage: ACCEPTED) { edges { node { deadline { overdue dueOn } } } } }",
    )
    deadlines = [e["node"]["deadline"] for e in late["data"]["overdue"]["edges"]]
    assert any(d["overdue"] for d in deadlines), late
