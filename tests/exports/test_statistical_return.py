"""The monthly statistical return (统计报表) of a county or city: its figures are those of
`statistics`, with people covered and the month's movements counted by hand (issue 20).
Both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gateway.runtime import Runtime
from store.models import Review
from tests.conftest import Api
from tests.exports.helpers import code, fetch, request, sheet, ticket
from tests.helpers import OTHER_COUNTY_VILLAGE, RURAL_VILLAGE, issue_token, load_regions
from tests.workflow.test_payments import COUNTY, generate, household, result

STATISTICS = """query($p: String!, $r: String) { statistics(period: $p, region: $r) {
  byStatus { area status households } byCategory { category households }
  payments { area status payments amount } } }"""
AREAS = {"城市": "URBAN", "农村": "RURAL"}
CATEGORIES = {
    "残疾人": "DISABLED",
    "老年人": "ELDERLY",
    "未成年人": "MINOR",
    "重病患者": "SERIOUSLY_ILL",
}
UTC = dt.UTC


async def _step(runtime: Runtime, archive: str, step: str, at: dt.datetime) -> None:
    async with runtime.sessions.begin() as session:
        session.add(
            Review(
                archive_no=archive, step=step, from_status="ACTIVE", to_status="ACTIVE",
                actor="test", actor_role="county_reviewer", created_at=at,
            )
        )  # fmt: skip


async def _county(api: Api, runtime: Runtime) -> None:
    finance = await issue_token(runtime, "finance_officer", COUNTY)
    urban = [await household(runtime, benefit="300.10") for _ in range(3)]
    rural = [await household(runtime, village=RURAL_VILLAGE, benefit="250.05") for _ in range(2)]
    await household(runtime, status="SUSPENDED")
    await household(runtime, status="TERMINATED", benefit=None)
    await household(runtime, village=OTHER_COUNTY_VILLAGE)  # another province
    result(await generate(api, finance, "2026-06"))
    # June in Beijing time: 2026-05-31T16:00Z to 2026-06-30T16:00Z
    await _step(runtime, urban[0], "APPROVE", dt.datetime(2026, 5, 31, 16, 30, tzinfo=UTC))
    await _step(runtime, urban[1], "APPROVE", dt.datetime(2026, 6, 15, 2, 0, tzinfo=UTC))
    await _step(runtime, urban[2], "APPROVE", dt.datetime(2026, 6, 30, 16, 30, tzinfo=UTC))  # July
    await _step(runtime, rural[0], "TERMINATE", dt.datetime(2026, 6, 3, tzinfo=UTC))
    await _step(runtime, rural[1], "ENTER_GRADUAL_EXIT", dt.datetime(2026, 6, 20, tzinfo=UTC))
    await _step(runtime, rural[1], "ENTER_GRADUAL_EXIT", dt.datetime(2026, 6, 21, tzinfo=UTC))
    await _step(runtime, rural[1], "APPROVE", dt.datetime(2026, 5, 1, tzinfo=UTC))  # May


def _figures(rows: list[list[str]]) -> dict[str, Any]:
    found: dict[str, Any] = {"byStatus": [], "byCategory": [], "payments": [], "other": {}}
    for item, kind, detail, count, amount in (r[:5] for r in rows[1:-1]):
        n = int(Decimal(count))
        if item == "户数":
            found["byStatus"].append({"area": AREAS[kind], "status": detail, "households": n})
        elif item == "专项户数":
            found["byCategory"].append({"category": CATEGORIES[kind], "households": n})
        elif item == "资金发放":
            found["payments"].append(
                {
                    "area": AREAS[kind],
                    "status": detail,
                    "payments": n,
                    "amount": f"{Decimal(amount):.2f}",
                }
            )
        else:
            found["other"][(item, kind)] = n
    return found


async def test_the_return_is_statistics_with_people_and_movements(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    await _county(api, runtime)
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    for token, region in (
        (reviewer, COUNTY),
        (await issue_token(runtime, "supervisor", "22"), "2201"),
    ):
        for fmt in ("XLSX", "CSV"):
            params = {"region": region, "period": "2026-06", "format": fmt}
            made = ticket(await request(api, token, "STATISTICAL_RETURN", params))
            rows = sheet((await fetch(api, token, made["id"])).content, fmt)
            figures = _figures(rows)
            stats = (await api.gql(token, STATISTICS, {"p": "2026-06", "r": region}))["data"][
                "statistics"
            ]
            assert figures["byStatus"] == stats["byStatus"]
            assert figures["byCategory"] == stats["byCategory"]
            assert figures["payments"] == stats["payments"]
            assert made["totalAmount"] == "1400.40"  # 3 x 300.10 + 2 x 250.05
            assert made["rowCount"] == len(rows) - 2
            # counted by hand: one member each; June's movements in Beijing time
            assert figures["other"] == {
                ("保障人数", "城市"): 3,
                ("保障人数", "农村"): 2,
                ("当月变动", "新增"): 2,
                ("当月变动", "停保"): 1,
                ("当月变动", "渐退"): 1,
            }


async def test_who_may_take_the_return_and_of_where(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    for role, scope in (("caseworker", "220183100"), ("finance_officer", COUNTY)):
        token = await issue_token(runtime, role, scope)
        body = await request(
            api, token, "STATISTICAL_RETURN", {"region": COUNTY, "period": "2026-06"}
        )
        assert code(body) == "FORBIDDEN", (role, body)
    for params in (
        {"region": "2201", "period": "2026-06"},  # the city is wider than the reviewer
        {"region": "520121", "period": "2026-06"},
        {"region": COUNTY},
        {"region": COUNTY, "period": "2026-13"},
        {"region": "220183100", "period": "2026-06"},
    ):
        body = await request(api, reviewer, "STATISTICAL_RETURN", params)
        assert code(body) == "BAD_USER_INPUT", (params, body)
