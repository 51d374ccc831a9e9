"""Staff assessment (考核) per principal and step, against a hand count of a fixture's
review steps (issue 20). Both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.runtime import Runtime
from store.models import Review
from tests.conftest import Api
from tests.exports.helpers import code, fetch, request, sheet, ticket
from tests.helpers import issue_token, load_regions
from tests.workflow.test_payments import COUNTY, household

HEADER = [
    "人员", "角色", "环节", "办理件数", "工作日中位数", "超时件数", "退回或重开件数",
    "批准后12个月内因虚报停保", "审计请求数", "被拒请求数",
]  # fmt: skip


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=2, tzinfo=dt.UTC)  # 10:00 in Beijing


async def _steps(runtime: Runtime, archive: str, steps: list[tuple[Any, ...]]) -> None:
    async with runtime.sessions.begin() as session:
        for step, from_status, actor, day, *reasons in steps:
            role = "county_reviewer" if actor.startswith("cr") else "caseworker"
            session.add(
                Review(
                    archive_no=archive, step=step, from_status=from_status, to_status="X",
                    actor=actor, actor_role=role, created_at=_at(day),
                    details={"reasons": list(reasons)} if reasons else None,
                )
            )  # fmt: skip


async def _fixture(runtime: Runtime) -> None:
    a, b, c = [await household(runtime, approved=None) for _ in range(3)]
    await _steps(runtime, a, [
        ("SUBMIT", None, "cw1", "2026-03-02"),
        ("ACCEPT", "SUBMITTED", "cw1", "2026-03-04"),  # 2 working days
        ("INVESTIGATE", "ACCEPTED", "cw2", "2026-03-13"),  # 7
        ("TOWNSHIP_REVIEW", "INVESTIGATED", "cw1", "2026-03-16"),  # 1
        ("APPROVE", "NOTICE", "cr1", "2026-03-31"),  # 11: over NOTICE's 10
        ("TERMINATE", "ACTIVE", "cr2", "2026-09-01", "FALSE_INFORMATION"),  # within 12 months
    ])  # fmt: skip
    await _steps(runtime, b, [
        ("SUBMIT", None, "cw1", "2026-03-02"),
        ("ACCEPT", "SUBMITTED", "cw1", "2026-03-20"),  # 14: over SUBMITTED's 3
        ("RETURN_FOR_CORRECTION", "ACCEPTED", "cw1", "2026-03-23"),  # 1
        ("RESUBMIT", "ACCEPTED", "cw1", "2026-03-24"),  # 1
        ("ACCEPT", "SUBMITTED", "cw1", "2026-03-25"),  # 1
        ("INVESTIGATE", "ACCEPTED", "cw2", "2026-04-02"),  # April: outside the period
    ])  # fmt: skip
    await _steps(runtime, c, [
        ("TOWNSHIP_REVIEW", "INVESTIGATED", "cw1", "2026-02-27"),  # before the period
        # 8: Saturday 28 February is a working day in 2026 (调休 after the Spring Festival)
        ("APPROVE", "NOTICE", "cr1", "2026-03-10"),
        ("TERMINATE", "ACTIVE", "cr2", "2027-03-11", "FALSE_INFORMATION"),  # after 12 months
    ])  # fmt: skip


# counted by hand from the fixture above (see domain/assessment.py for the definitions)
EXPECTED = [
    ["cr1", "county_reviewer", "APPROVE", "2", "9.5", "1", "0", "1", "0", "0"],
    ["cw1", "caseworker", "ACCEPT", "2", "2.0", "1", "1", "0", "0", "0"],
    ["cw1", "caseworker", "RESUBMIT", "1", "1.0", "0", "0", "0", "0", "0"],
    ["cw1", "caseworker", "RETURN_FOR_CORRECTION", "1", "1.0", "0", "0", "0", "0", "0"],
    ["cw1", "caseworker", "SUBMIT", "2", "", "0", "1", "0", "0", "0"],
    ["cw1", "caseworker", "TOWNSHIP_REVIEW", "1", "1.0", "0", "0", "0", "0", "0"],
    ["cw2", "caseworker", "INVESTIGATE", "1", "7.0", "0", "0", "0", "0", "0"],
]


def _texts(rows: list[list[str]]) -> list[list[str]]:
    """Numbers as the hand count writes them (xlsx gives them back as numbers)."""
    out = []
    for row in rows:
        cells = list(row)
        for i in (3, 5, 6, 7, 8, 9):
            cells[i] = str(int(float(cells[i])))
        cells[4] = f"{float(cells[4]):.1f}" if cells[4] else ""
        out.append(cells)
    return out


async def test_the_assessment_equals_a_hand_count(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    await _fixture(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    supervisor = await issue_token(runtime, "supervisor", "22")
    for token, region in ((reviewer, COUNTY), (supervisor, "2201"), (supervisor, "22")):
        for fmt in ("XLSX", "CSV"):
            params = {"region": region, "period": "2026-03", "format": fmt}
            made = ticket(await request(api, token, "STAFF_ASSESSMENT", params))
            rows = sheet((await fetch(api, token, made["id"])).content, fmt)
            assert rows[0] == HEADER
            assert _texts(rows[1:]) == EXPECTED, (region, fmt)
            assert made["rowCount"] == len(EXPECTED) and made["totalAmount"] is None


async def test_audited_requests_are_counted_and_scope_is_kept(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    await household(runtime, approved=None)  # its SUBMIT step is recorded now, by "test"
    worker = await issue_token(runtime, "caseworker", "220183100", principal="test")
    await api.gql(worker, "{ households(first: 1) { totalCount } }")
    assert code(await api.gql(worker, "{ auditChain { entries } }")) == "FORBIDDEN"
    # the same principal's work under a credential of another province is not this
    # county's to see, and is not counted
    elsewhere = await issue_token(runtime, "caseworker", "520102", principal="test")
    for _ in range(3):
        await api.gql(elsewhere, "{ households(first: 1) { totalCount } }")
    month = runtime.clock().astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m")
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    made = ticket(
        await request(
            api, reviewer, "STAFF_ASSESSMENT", {"region": COUNTY, "period": month, "format": "CSV"}
        )
    )
    [row] = sheet((await fetch(api, reviewer, made["id"])).content, "CSV")[1:]
    assert (row[0], row[2], row[8], row[9]) == ("test", "SUBMIT", "2", "1")

    for role, scope in (("caseworker", "220183100"), ("finance_officer", COUNTY)):
        token = await issue_token(runtime, role, scope)
        body = await request(api, token, "STAFF_ASSESSMENT", {"region": COUNTY, "period": month})
        assert code(body) == "FORBIDDEN", (role, body)
    for params in (
        {"region": "2201", "period": month},  # the reviewer's county only
        {"region": COUNTY, "period": "2026-01", "periodEnd": "2027-01"},  # 13 months
        {"region": COUNTY, "period": "2026-05", "periodEnd": "2026-04"},
        {"region": "220183100", "period": month},
    ):
        body = await request(api, reviewer, "STAFF_ASSESSMENT", params)
        assert code(body) == "BAD_USER_INPUT", (params, body)
