"""`statistics` adds up in SQL: its figures equal the sums of the per-household
figures read through the API, to the cent, on both backends."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from gateway.runtime import Runtime
from store.seed import seed
from tests.conftest import Api
from tests.helpers import issue_token

PAGE = """
query($after: String) { households(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { archiveNo area status categories payments { period amount status } } } } }
"""
STATS = """
query($p: String!, $r: String) { statistics(period: $p, region: $r) {
  byStatus { area status households } byCategory { category households }
  payments { area status payments amount } } }
"""


async def every_household(api: Api, token: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        body = await api.gql(token, PAGE, {"after": after})
        assert "errors" not in body, body
        page = body["data"]["households"]
        found += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def expected(households: list[dict[str, Any]], period: str) -> dict[str, Any]:
    by_status = Counter((h["area"], h["status"]) for h in households)
    by_category = Counter(c for h in households if h["status"] == "ACTIVE" for c in h["categories"])
    payments: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for h in households:
        for p in h["payments"]:
            if p["period"] == period:
                n, total = payments.get((h["area"], p["status"]), (0, Decimal("0.00")))
                payments[(h["area"], p["status"])] = (n + 1, total + Decimal(p["amount"]))
    return {
        "byStatus": sorted(
            ({"area": a, "status": s, "households": n} for (a, s), n in by_status.items()),
            key=lambda row: (row["area"], row["status"]),
        ),
        "byCategory": {
            c: by_category.get(c, 0) for c in ("DISABLED", "ELDERLY", "MINOR", "SERIOUSLY_ILL")
        },
        "payments": sorted(
            (
                {"area": a, "status": s, "payments": n, "amount": str(t)}
                for (a, s), (n, t) in payments.items()
            ),
            key=lambda row: (row["area"], row["status"]),
        ),
    }


def shaped(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "byStatus": stats["byStatus"],
        "byCategory": {c["category"]: c["households"] for c in stats["byCategory"]},
        "payments": stats["payments"],
    }


async def test_statistics_equal_the_sums_of_the_households(api: Api, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=150, seed=11)
    reviewer = await issue_token(runtime, "county_reviewer", "*")
    households = await every_household(api, reviewer)
    periods = Counter(p["period"] for h in households for p in h["payments"])
    assert periods, "the seed pays households"
    period = periods.most_common(1)[0][0]
    want = expected(households, period)
    assert want["payments"] and any(n for n in want["byCategory"].values())
    body = await api.gql(reviewer, STATS, {"p": period})
    assert "errors" not in body, body
    assert shaped(body["data"]["statistics"]) == want
    # narrowed to one county, by region and by the caller's own scope alike
    county = households[len(households) // 2]["archiveNo"][:6]
    inside = [h for h in households if h["archiveNo"].startswith(county)]
    want = expected(inside, period)
    narrowed = await api.gql(reviewer, STATS, {"p": period, "r": county})
    assert shaped(narrowed["data"]["statistics"]) == want
    local = await issue_token(runtime, "county_reviewer", county)
    assert shaped((await api.gql(local, STATS, {"p": period}))["data"]["statistics"]) == want
    # narrower than a county: read from the households themselves, not the tallies
    township = inside[0]["archiveNo"][:9]
    want = expected([h for h in households if h["archiveNo"].startswith(township)], period)
    assert want["byStatus"]
    narrowest = await api.gql(reviewer, STATS, {"p": period, "r": township})
    assert shaped(narrowest["data"]["statistics"]) == want
    # a township of that county with no household: every figure is zero, none missing
    empty = next(
        f"{county}{n:03d}"
        for n in range(1000)
        if not any(h["archiveNo"].startswith(f"{county}{n:03d}") for h in households)
    )
    nothing = await api.gql(reviewer, STATS, {"p": period, "r": empty})
    assert shaped(nothing["data"]["statistics"]) == expected([], period)
