"""Change reports update the archive with full history; benefits follow; duplicates refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domain import bounds
from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
    nodes,
)
from tests.workflow.test_review_chain import SUBMIT, URBAN_STANDARD, ok
from tests.workflow.test_standards_timeliness import active_household

CHANGE = """
mutation($a: String!, $c: ChangeInput!) {
  reportChange(archiveNo: $a, change: $c) {
    monthlyBenefit status members { id relation monthlyIncome }
    changes { kind before after reason reportedBy }
  }
}
"""
MEMBERS = "query($a: String!) { household(archiveNo: $a) { members { id relation } } }"


async def member_ids(api: Api, token: str, archive: str) -> list[str]:
    """The household's current members' ids, in the order they were listed."""
    body = await api.gql(token, MEMBERS, {"a": archive})
    return [m["id"] for m in body["data"]["household"]["members"]]


async def test_income_member_and_address_changes(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    archive, _ = await active_household(api, runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-wu")
    head, spouse = await member_ids(api, worker, archive)
    raised = ok(
        await api.gql(
            worker,
            CHANGE,
            {
                "a": archive,
                "c": {
                    "kind": "INCOME",
                    "reason": "找到零工",
                    "memberId": head,
                    "monthlyIncome": "300.00",
                },
            },
        ),
        "reportChange",
    )
    assert Decimal(raised["monthlyBenefit"]) == URBAN_STANDARD * 2 - Decimal("400.00")
    assert raised["changes"][-1] == {
        "kind": "INCOME",
        "before": {"member": head, "monthly_income": "0.00"},
        "after": {"member": head, "monthly_income": "300.00"},
        "reason": "找到零工",
        "reportedBy": "cw-wu",
    }
    joined = ok(
        await api.gql(
            worker,
            CHANGE,
            {
                "a": archive,
                "c": {
                    "kind": "MEMBER_JOINED",
                    "reason": "出生",
                    "newMember": member(
                        "CHILD", name="王小宝", birth=dt.date(2026, 1, 5), income="0", phone=None
                    ),
                },
            },
        ),
        "reportChange",
    )
    assert len(joined["members"]) == 3
    assert Decimal(joined["monthlyBenefit"]) == URBAN_STANDARD * 3 - Decimal("400.00")
    left = ok(
        await api.gql(
            worker,
            CHANGE,
            {"a": archive, "c": {"kind": "DEATH", "reason": "病故", "memberId": spouse}},
        ),
        "reportChange",
    )
    assert len(left["members"]) == 2
    assert spouse not in [m["id"] for m in left["members"]]
    moved = ok(
        await api.gql(
            worker,
            CHANGE,
            {"a": archive, "c": {"kind": "ADDRESS", "reason": "搬家", "address": "和平街 8 号"}},
        ),
        "reportChange",
    )
    assert [c["kind"] for c in moved["changes"]] == ["INCOME", "MEMBER_JOINED", "DEATH", "ADDRESS"]
    assert "王小宝" not in str(moved["changes"])  # history names member ids, never people
    flagged = await api.gql(
        worker,
        "query($b: Date!) { dueForReview(before: $b) { edges { node { archiveNo } } } }",
        {"b": (dt.date.today() + dt.timedelta(days=8)).isoformat()},
    )
    assert nodes(flagged["data"]["dueForReview"]) == [{"archiveNo": archive}]


async def test_a_joining_member_held_elsewhere_is_a_conflict(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    shared = id_number()
    other = ok(
        await api.gql(
            worker, SUBMIT, {"input": application(members=[member("HEAD", number=shared)])}
        ),
        "submitApplication",
    )["archiveNo"]
    mine = ok(
        await api.gql(worker, SUBMIT, {"input": application(members=[member("HEAD")])}),
        "submitApplication",
    )["archiveNo"]
    clash = await api.gql(
        worker,
        CHANGE,
        {
            "a": mine,
            "c": {
                "kind": "MEMBER_JOINED",
                "reason": "投靠",
                "newMember": member("OTHER", number=shared),
            },
        },
    )
    assert clash["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert other in clash["errors"][0]["message"]
    unchanged = await api.gql(
        worker,
        "query($a: String!) { household(archiveNo: $a) { members { relation } changes { kind } } }",
        {"a": mine},
    )
    assert unchanged["data"]["household"] == {"members": [{"relation": "HEAD"}], "changes": []}
    [only] = await member_ids(api, worker, mine)
    last = await api.gql(
        worker,
        CHANGE,
        {"a": mine, "c": {"kind": "MEMBER_LEFT", "reason": "x", "memberId": only}},
    )
    assert last["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_a_household_at_its_member_bound_takes_no_one_more(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads list at most the bound: a member over it would be kept but never shown."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    mine = ok(
        await api.gql(
            worker, SUBMIT, {"input": application(members=[member("HEAD"), member("CHILD")])}
        ),
        "submitApplication",
    )["archiveNo"]
    monkeypatch.setattr(bounds, "MEMBERS", 2)
    full = await api.gql(
        worker,
        CHANGE,
        {"a": mine, "c": {"kind": "MEMBER_JOINED", "reason": "投靠", "newMember": member("OTHER")}},
    )
    assert full["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "members"}
