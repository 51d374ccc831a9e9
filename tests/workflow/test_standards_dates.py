"""Effective dates of standards: within a year of today; a standard not yet in
force can be replaced; one in force cannot be undercut. Who may read which county."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from gateway.runtime import Runtime
from resolvers.context import CHINA_TIME
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions
from tests.workflow.test_review_chain import APPROVE, later, ok, to_notice
from tests.workflow.test_standards_timeliness import SET, STANDARDS


def _set(start: dt.date | str, amount: str = "900.00") -> dict[str, Any]:
    return {"c": "220183", "amount": amount, "from": str(start)}


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def _urban(api: Api, token: str) -> list[dict[str, Any]]:
    body = await api.gql(token, STANDARDS)
    return [s for s in body["data"]["standards"] if s["area"] == "URBAN"]


async def test_effective_dates_within_a_year(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    today = dt.date.today()
    for start in ("9999-12-31", today + dt.timedelta(days=400), today - dt.timedelta(days=400)):
        body = await api.gql(reviewer, SET, _set(start))
        assert _code(body) == "BAD_USER_INPUT", (start, body)
        assert body["errors"][0]["extensions"]["field"] == "effectiveFrom"
    assert len(await _urban(api, reviewer)) == 1, "nothing was set"
    fine = await api.gql(reviewer, SET, _set(today + dt.timedelta(days=300)))
    assert _code(fine) is None, fine


async def test_a_standard_not_yet_in_force_can_be_replaced(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    today = dt.date.today()
    later, sooner = today + dt.timedelta(days=40), today + dt.timedelta(days=20)
    assert _code(await api.gql(reviewer, SET, _set(later, "900.00"))) is None
    assert _code(await api.gql(reviewer, SET, _set(later, "950.00"))) is None  # same day
    assert _code(await api.gql(reviewer, SET, _set(sooner, "920.00"))) is None  # earlier
    urban = await _urban(api, reviewer)
    in_force = [
        s for s in urban if s["effectiveTo"] is None or s["effectiveTo"] >= s["effectiveFrom"]
    ]
    assert [(s["monthlyAmount"], s["effectiveTo"]) for s in in_force][-2:] == [
        (in_force[0]["monthlyAmount"], str(sooner - dt.timedelta(days=1))),
        ("920.00", None),
    ]
    withdrawn = [s for s in urban if s not in in_force]
    assert sorted(s["monthlyAmount"] for s in withdrawn) == ["900.00", "950.00"]
    # one in force since yesterday cannot be undercut
    assert _code(await api.gql(reviewer, SET, _set(today - dt.timedelta(days=1)))) is None
    undercut = await api.gql(reviewer, SET, _set(today - dt.timedelta(days=5)))
    assert _code(undercut) == "CONFLICT"


async def test_a_township_reads_its_own_countys_standards(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    own = await api.gql(worker, STANDARDS)
    assert _code(own) is None, own
    assert own["data"]["standards"]
    other = await api.gql(worker, '{ standards(countyCode: "520121") { area } }')
    assert _code(other) == "BAD_USER_INPUT"
    province = await issue_token(runtime, "supervisor", "22")
    assert _code(await api.gql(province, STANDARDS)) is None


async def test_a_benefit_is_paid_on_the_standard_in_force_the_day_it_starts(
    api: Api, runtime: Runtime
) -> None:
    """An approval is decided on the standard in force today and paid from the first of
    next month on the one in force that day, a standard's first and last days included:
    one starting exactly then is the one paid, and one closed today still decides today."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    first, second = await to_notice(api, worker), await to_notice(api, worker)
    later(runtime, 7)  # the notice period is over
    today = runtime.clock().astimezone(CHINA_TIME).date()
    paid_from = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    assert _code(await api.gql(reviewer, SET, _set(paid_from, "900.50"))) is None
    approved = ok(await api.gql(reviewer, APPROVE, {"a": first}), "approveApplication")
    assert Decimal(approved["monthlyBenefit"]) == Decimal("900.50") * 2 - 100
    # replaced by one from tomorrow: today's standard now ends today, and still decides
    tomorrow = today + dt.timedelta(days=1)
    assert _code(await api.gql(reviewer, SET, _set(tomorrow, "950.00"))) is None
    approved = ok(await api.gql(reviewer, APPROVE, {"a": second}), "approveApplication")
    assert Decimal(approved["monthlyBenefit"]) == Decimal("950.00") * 2 - 100
