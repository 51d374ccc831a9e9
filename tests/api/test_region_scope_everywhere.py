"""Region scope holds in every list and lookup of the schema, over data that has rows outside.

For each read, a caller with a narrow scope asks over an archive that also holds
rows outside that scope (the same read by a national caller proves they are
there), and any row outside fails the test. The reads are the statement-count
test's enumeration of every list in the schema, plus the lookups; a list added
to the schema without a case here fails `test_every_list_and_lookup_is_scoped`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.runtime import Runtime
from store.models import Household
from store.seed import seed
from tests.api.test_statement_count import LIST_QUERIES
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, id_number, issue_token, member
from tests.workflow.test_duplicates import household as claimed_household
from tests.workflow.test_duplicates import person

COUNTY = "220183"
OTHER_COUNTY = "520121"
HOUSEHOLD_PAGE = "edges { node { archiveNo } }"


@dataclass(frozen=True)
class Case:
    role: str
    scope: str  # the narrow caller's scope
    query: str
    rows: Callable[[dict[str, Any]], list[str]]  # archive numbers or region codes returned


def _archives(root: str) -> Callable[[dict[str, Any]], list[str]]:
    return lambda data: [e["node"]["archiveNo"] for e in data[root]["edges"]]


def _due(data: dict[str, Any]) -> list[str]:
    return [e["node"]["archiveNo"] for e in data["dueForReview"]["edges"]]


def _overdue(data: dict[str, Any]) -> list[str]:
    return [e["node"]["archiveNo"] for key in data for e in data[key]["edges"]]


def _duplicates(data: dict[str, Any]) -> list[str]:
    return [a for e in data["duplicateCandidates"]["edges"] for a in e["node"]["archiveNos"]]


def _batches(data: dict[str, Any]) -> list[str]:
    return [b["countyCode"] for b in data["paymentBatches"]]


STAGES = ("SUBMITTED", "ACCEPTED", "INVESTIGATED", "TOWNSHIP_REVIEWED", "NOTICE", "ACTIVE")
OVERDUE = (
    "{ "
    + " ".join(
        f"{s.lower()}: overdue(stage: {s}, first: 500) {{ {HOUSEHOLD_PAGE} }}" for s in STAGES
    )
    + f" late: overdue(verification: true, first: 500) {{ {HOUSEHOLD_PAGE} }}"
    + " }"
)
# every list that returns archive rows, read with a narrow scope
SCOPED: dict[str, Case] = {
    "HouseholdConnection.edges": Case(
        "caseworker",
        CASEWORKER_TOWNSHIP,
        "{ households(first: 500) { " + HOUSEHOLD_PAGE + " } }",
        _archives("households"),
    ),
    "Query.dueForReview": Case(
        "county_reviewer",
        COUNTY,
        '{ dueForReview(before: "2100-01-01", first: 500) { ' + HOUSEHOLD_PAGE + " } }",
        _due,
    ),
    "Query.overdue": Case("county_reviewer", COUNTY, OVERDUE, _overdue),
    "Query.duplicateCandidates": Case(
        "county_reviewer",
        COUNTY,
        "{ duplicateCandidates(first: 500) { edges { node { archiveNos } } } }",
        _duplicates,
    ),
    "Query.paymentBatches": Case(
        "finance_officer",
        COUNTY,
        "{ paymentBatches(countyCode: $COUNTY) { countyCode } }",
        _batches,
    ),
}
# lists that hold no archive rows: the policy, credentials and the audit log are
# national by design (administrators, 三员分立); statistics and standards are
# checked by value below
NOT_ARCHIVE_ROWS = {
    "Query.policyRules",
    "Query.credentials",
    "Query.auditActivity",
    "Query.lookupAlerts",
    "AuditEventConnection.edges",
    # counts of requests per department for the security officers, no archive row
    "Query.verificationActivity",
    # the security officers' own records: alerts on principals, their thresholds,
    # policy proposals, permission reviews and the credentials they look at
    "Query.alerts",
    "Query.alertThresholds",
    "Query.policyProposals",
    "PermissionReviewConnection.edges",
    "PermissionReviewLists.unused",
    # the auditor's register of who took which file: kind, scope, counts and digest,
    # never a row of the file
    "Query.exports",
}
# lists read on a household that was itself read in scope: they add no row of another
NESTED = {"Household.verifications", "Household.documents"}
BY_VALUE = {"Statistics.byStatus", "Query.standards"}


def test_every_list_and_lookup_is_scoped() -> None:
    assert set(LIST_QUERIES) == set(SCOPED) | NOT_ARCHIVE_ROWS | BY_VALUE | NESTED


PAY = 'mutation($c: String!) { generatePayments(countyCode: $c, period: "2026-11") { created } }'


async def _archive(api: Api, runtime: Runtime) -> None:
    """Seeded households in both provinces, a payment batch in each county, and double
    claims in and out of scope."""
    await seed(runtime.engine, runtime.cipher, households=150, seed=11)
    for county, village in ((COUNTY, "220183100001"), (OTHER_COUNTY, "520121100201")):
        shared = person(county)
        await claimed_household(runtime, village, "ACTIVE", shared)
        await claimed_household(runtime, village, "SUBMITTED", shared)
    finance = await issue_token(runtime, "finance_officer", "*")
    for county in (COUNTY, OTHER_COUNTY):
        paid = await api.gql(finance, PAY, {"c": county})
        assert "errors" not in paid, paid


@pytest.mark.parametrize("name", sorted(SCOPED))
async def test_narrow_callers_see_no_row_outside(api: Api, runtime: Runtime, name: str) -> None:
    case = SCOPED[name]
    await _archive(api, runtime)
    national = await issue_token(runtime, case.role, "*")
    narrow = await issue_token(runtime, case.role, case.scope)
    counties = [COUNTY, OTHER_COUNTY] if "$COUNTY" in case.query else [None]
    seen_outside, rows = [], []
    for county in counties:
        query = case.query.replace("$COUNTY", f'"{county}"')
        everything = await api.gql(national, query)
        assert "errors" not in everything, everything
        seen_outside += [r for r in case.rows(everything["data"]) if not r.startswith(case.scope)]
        mine = await api.gql(narrow, query)
        if "errors" in mine:  # asking for another county by name: refused, nothing shown
            assert county != COUNTY, mine
            assert mine["data"] is None or not any(mine["data"].values()), mine
            continue
        rows += case.rows(mine["data"])
    assert seen_outside, f"{name}: the data must hold rows outside {case.scope} to prove anything"
    assert rows, f"{name}: the narrow caller must see some rows of its own"
    outside = [r for r in rows if not r.startswith(case.scope)]
    assert not outside, f"{name}: rows outside {case.scope}: {outside[:5]}"


STATS = """{ statistics(period: "2026-11") { byStatus { status households } } }"""


async def test_statistics_count_only_households_in_scope(api: Api, runtime: Runtime) -> None:
    await _archive(api, runtime)
    async with runtime.sessions() as session:
        in_county = await session.scalar(
            select(func.count()).where(Household.village_code.startswith(COUNTY))
        )
        everywhere = await session.scalar(select(func.count()).select_from(Household))
    assert in_county and everywhere and everywhere > in_county
    for scope, expected in ((COUNTY, in_county), ("*", everywhere)):
        token = await issue_token(runtime, "county_reviewer", scope)
        body = await api.gql(token, STATS)
        counted = sum(s["households"] for s in body["data"]["statistics"]["byStatus"])
        assert counted == expected, (scope, body)


async def test_lookups_outside_scope_are_as_if_absent(api: Api, runtime: Runtime) -> None:
    await _archive(api, runtime)
    inside_worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    outside_worker = await issue_token(runtime, "caseworker", "520121100")
    submit = "mutation($i: ApplicationInput!) { submitApplication(input: $i) { archiveNo } }"
    outside_id = id_number(OTHER_COUNTY)
    created = await api.gql(
        outside_worker,
        submit,
        {"i": application(village="520121100201", members=[member("HEAD", number=outside_id)])},
    )
    outside_archive = created["data"]["submitApplication"]["archiveNo"]
    never = id_number(OTHER_COUNTY)  # a valid number nobody claims

    lookup = "query($a: String!) { household(archiveNo: $a) { archiveNo } }"
    assert await api.gql(inside_worker, lookup, {"a": outside_archive}) == {
        "data": {"household": None}
    }
    national = await issue_token(runtime, "county_reviewer", "*")
    found = await api.gql(national, lookup, {"a": outside_archive})
    assert found["data"]["household"] == {"archiveNo": outside_archive}

    check = "query($i: String!) { verifyRecipient(idNumber: $i) { isRecipient status countyCode } }"
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    claimed = await api.gql(reviewer, check, {"i": outside_id})
    unclaimed = await api.gql(reviewer, check, {"i": never})
    assert claimed == unclaimed  # a claim outside the caller's scope is not there for it
    assert (await api.gql(national, check, {"i": outside_id}))["data"]["verifyRecipient"][
        "countyCode"
    ] == OTHER_COUNTY

    standards = '{ standards(countyCode: "520121") { area } }'
    refused = await api.gql(reviewer, standards)
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] in {
        "BAD_USER_INPUT",
        "FORBIDDEN",
        "NOT_FOUND",
    }
    assert (await api.gql(national, standards))["data"]["standards"]


async def test_the_code_just_above_a_scope_is_outside_it(api: Api, runtime: Runtime) -> None:
    """A scope is the range of codes from its own up to the next one, that one left out:
    a finance officer of 榆树市 (220182) is shown no batch of 德惠市 (220183), whose
    county code is exactly the code that ends its range."""
    await _archive(api, runtime)
    below = str(int(COUNTY) - 1)
    query = f'{{ paymentBatches(countyCode: "{COUNTY}") {{ countyCode }} }}'
    national = await issue_token(runtime, "finance_officer", "*")
    assert (await api.gql(national, query))["data"]["paymentBatches"], "a batch of the county"
    narrow = await issue_token(runtime, "finance_officer", below)
    mine = await api.gql(narrow, query)
    assert not (mine["data"] or {}).get("paymentBatches"), mine
