"""The compiled read path and the generic executor give the same answers.

Two gateways over one database and one runtime: one with the compiled path, one
without. Every request of a corpus (roles × shapes, masks, refusals, bad input,
paging) goes to both; the bodies, HTTP statuses and audit entries must be equal,
and the compiled gateway must really have compiled what it covers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from store.seed import seed
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token

HOUSEHOLD_ALL = """archiveNo regionCode area status address bankName bankAccount
  monthlyBenefit reviewClass appliedAt updatedAt singlePersonCover marginal legacyArchiveNo
  members { relation sex birthDate monthlyIncome disabilityGrade disabilityKind covered
            seriousIllness student name idNumber phone }"""
PAGE_ALL = f"query P($first: Int) {{ households(first: $first) {{ edges {{ node {{ {HOUSEHOLD_ALL} }} }} }} }}"
PAGE_SHAPED = """query Shaped($first: Int, $after: String) {
  list: households(first: $first, after: $after) {
    __typename
    n: totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
    edges { c: cursor node { id: archiveNo __typename people: members { who: name relation } } }
  } }"""
PAGE_REGION = """query R($region: String) { households(first: 30, region: $region) {
  totalCount edges { node { archiveNo regionCode status members { idNumber } } } } }"""
POINT = f"query Pt($a: String!) {{ household(archiveNo: $a) {{ {HOUSEHOLD_ALL} }} }}"
POINT_LITERAL = 'query { household(archiveNo: "%s") { archiveNo status members { name } } }'
PARTNER_SAFE = """query { households(first: 40) { edges { node {
  archiveNo regionCode area status members { relation name idNumber } } } } }"""
# what a partner credential reading pages is issued with (--fields)
PARTNER_FIELDS = [
    "Query.households",
    "Query.household",
    "Household.archiveNo",
    "Household.regionCode",
    "Household.area",
    "Household.status",
    "Household.members",
    "Member.relation",
    "Member.name",
    "Member.idNumber",
]
# the partner's policy denies bank accounts: a refusal, on both paths alike
PARTNER_DENIED = "query { households(first: 5) { edges { node { archiveNo bankAccount } } } }"
# shapes the compiled path leaves to the generic executor
WITH_FRAGMENT = """query F { households(first: 3) { edges { node { ...H } } } }
fragment H on Household { archiveNo members { name } }"""
WITH_NESTED = "query { households(first: 3) { edges { node { archiveNo region { name } } } } }"
WITH_STATUS = "query { households(first: 3, status: [ACTIVE]) { edges { node { archiveNo } } } }"

ROLES = {
    "caseworker": CASEWORKER_TOWNSHIP,
    "county_reviewer": "220183",
    "finance_officer": "220183",
    "supervisor": "22",
    "partner": "22",
}
VOLATILE = {"seq", "time", "duration_ms", "trace_id", "client"}


@dataclasses.dataclass
class Pair:
    compiled: httpx.AsyncClient
    generic: httpx.AsyncClient
    runtime: Runtime
    spans: InMemorySpanExporter

    async def both(
        self, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[httpx.Response, httpx.Response, bool]:
        """The same request to both gateways; whether the first one compiled it."""
        body = {"query": query, "variables": variables or {}}
        headers = {"authorization": f"Bearer {token}"}
        self.spans.clear()
        fast = await self.compiled.post("/graphql", json=body, headers=headers)
        compiled = self._compiled(fast)
        fast_entry = (await entries(self.runtime))[-1]
        slow = await self.generic.post("/graphql", json=body, headers=headers)
        slow_entry = (await entries(self.runtime))[-1]
        # else the comparison compares the compiled path with itself (it once did)
        assert not self._compiled(slow), "the generic gateway compiled"
        assert fast.status_code == slow.status_code, (query, fast.text, slow.text)
        assert fast.json() == slow.json(), query
        assert {k: v for k, v in fast_entry.items() if k not in VOLATILE} == {
            k: v for k, v in slow_entry.items() if k not in VOLATILE
        }, query
        return fast, slow, compiled

    def _compiled(self, response: httpx.Response) -> bool:
        trace_id = response.headers["x-trace-id"]
        return any(
            (s.attributes or {}).get("dibao.execution") == "compiled" and s.kind.name == "SERVER"
            for s in self.spans.get_finished_spans()
            if format(s.context.trace_id, "032x") == trace_id
        )


@pytest.fixture
async def pair(
    settings: Settings, runtime: Runtime, spans: InMemorySpanExporter, api: Api
) -> AsyncIterator[Pair]:
    # `api` started the runtime; the second gateway shares it, compiled path off
    generic_app = create_app(dataclasses.replace(settings, fast_path=False), runtime)
    transport = httpx.ASGITransport(app=generic_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as generic:
        yield Pair(api.client, generic, runtime, spans)


async def test_both_paths_answer_alike(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=80, seed=11)
    tokens = {role: await issue_token(runtime, role, scope) for role, scope in ROLES.items()}
    tokens["partner"] = await issue_token(runtime, "partner", "22", fields=PARTNER_FIELDS)
    national = await issue_token(runtime, "county_reviewer", "*", principal="national")

    first, _, compiled = await pair.both(national, PAGE_ALL, {"first": 25})
    assert compiled
    nodes = [e["node"] for e in first.json()["data"]["households"]["edges"]]
    assert len(nodes) == 25 and any(n["members"] for n in nodes)
    in_township = next(
        n["archiveNo"] for n in nodes if n["regionCode"].startswith(CASEWORKER_TOWNSHIP)
    )
    elsewhere = next(n["archiveNo"] for n in nodes if not n["regionCode"].startswith("220183"))

    answered = 0
    for role, token in tokens.items():
        readable = [(PARTNER_SAFE, None)] if role == "partner" else [(PAGE_ALL, {"first": 30})]
        cases: list[tuple[str, dict[str, Any] | None]] = [
            *readable,
            (PAGE_SHAPED, {"first": 7}),
            (PAGE_REGION, {"region": "220183"}),
            (POINT, {"a": in_township}),
            (POINT, {"a": elsewhere}),
        ]
        for query, variables in cases:
            response, _, compiled = await pair.both(token, query, variables)
            assert response.status_code == 200
            # every shape here compiles; a refusal (partners are denied most of these
            # fields) is left to the generic path, which answers it
            assert compiled == ("errors" not in response.json()), (role, query)
            answered += compiled

    assert answered >= 15
    # masks differ by role, and the compiled answers carry them
    partner_page, _, _ = await pair.both(tokens["partner"], PARTNER_SAFE)
    member = next(
        m for e in partner_page.json()["data"]["households"]["edges"] for m in e["node"]["members"]
    )
    assert "*" in member["idNumber"] and "*" in member["name"]


async def test_paging_and_scope_alike(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=60, seed=5)
    token = await issue_token(runtime, "county_reviewer", "220183")
    after = None
    seen: list[str] = []
    for _ in range(4):
        response, _, compiled = await pair.both(token, PAGE_SHAPED, {"first": 6, "after": after})
        assert compiled
        page = response.json()["data"]["list"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) > 6
    assert all(a.startswith("220183") for a in seen)  # scope in the WHERE, on both paths


async def test_refusals_errors_and_other_shapes_alike(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=20, seed=3)
    reviewer = await issue_token(runtime, "county_reviewer", "22")
    partner = await issue_token(runtime, "partner", "22", fields=PARTNER_FIELDS)
    archive = (await pair.both(reviewer, PAGE_ALL, {"first": 1}))[0].json()["data"]["households"][
        "edges"
    ][0]["node"]["archiveNo"]

    cases: list[tuple[str, str, dict[str, Any] | None, str | None]] = [
        (partner, PARTNER_DENIED, None, "FORBIDDEN"),
        (reviewer, POINT, {"a": "not-an-archive-number"}, "BAD_USER_INPUT"),
        (reviewer, POINT, {"a": 12}, "BAD_USER_INPUT"),
        (reviewer, POINT, {}, "BAD_USER_INPUT"),
        (reviewer, PAGE_ALL, {"first": 501}, "BAD_USER_INPUT"),
        (reviewer, PAGE_SHAPED, {"first": 2, "after": "bm90LWEtY3Vyc29y"}, "BAD_USER_INPUT"),
        (reviewer, PAGE_REGION, {"region": "22x"}, "BAD_USER_INPUT"),
        (reviewer, "query { households(first: 2) { edges { node { nope } } } }", None, None),
        (reviewer, WITH_FRAGMENT, None, None),
        (reviewer, WITH_NESTED, None, None),
        (reviewer, WITH_STATUS, None, None),
        (reviewer, POINT_LITERAL % archive, None, None),
        (reviewer, PAGE_ALL, {"first": 0}, None),
    ]
    for token, query, variables, code in cases:
        response, _, compiled = await pair.both(token, query, variables)
        body = response.json()
        if code is not None:
            assert body["errors"][0]["extensions"]["code"] == code, (query, body)
            assert not compiled, query
    literal, _, compiled = await pair.both(reviewer, POINT_LITERAL % archive, None)
    assert compiled and literal.json()["data"]["household"]["archiveNo"] == archive
    fragment, _, compiled = await pair.both(reviewer, WITH_FRAGMENT, None)
    assert not compiled and len(fragment.json()["data"]["households"]["edges"]) == 3


async def test_two_scopes_same_document_share_no_answer(pair: Pair, runtime: Runtime) -> None:
    """Callers of different scopes send the same text: plans and statements are cached
    per document, so a cache key that left out the scope would serve one caller's
    region to the other. Checked against the scope itself, not only the other path."""
    await seed(runtime.engine, runtime.cipher, households=80, seed=13)
    national = await issue_token(runtime, "county_reviewer", "*", principal="national")
    everything = (await pair.both(national, PAGE_ALL, {"first": 80}))[0].json()
    counties = sorted(
        {e["node"]["regionCode"][:6] for e in everything["data"]["households"]["edges"]}
    )
    assert len(counties) >= 2, counties
    scopes = counties[:2]
    tokens = [await issue_token(runtime, "county_reviewer", s, principal=s) for s in scopes]
    archive_of = {
        s: next(
            e["node"]["archiveNo"]
            for e in everything["data"]["households"]["edges"]
            if e["node"]["regionCode"].startswith(s)
        )
        for s in scopes
    }

    pages: dict[str, set[str]] = {}
    for _ in range(2):  # alternate, so each caller follows the other on a warm cache
        for scope, token in zip(scopes, tokens, strict=True):
            response, _, compiled = await pair.both(token, PAGE_REGION, {"region": None})
            assert compiled
            nodes = [e["node"] for e in response.json()["data"]["households"]["edges"]]
            assert nodes and all(n["regionCode"].startswith(scope) for n in nodes), scope
            pages.setdefault(scope, set()).update(n["archiveNo"] for n in nodes)
            for other in scopes:
                point, _, compiled = await pair.both(token, POINT, {"a": archive_of[other]})
                assert compiled
                found = point.json()["data"]["household"]
                assert (found is not None) == (other == scope), (scope, other)
    assert not pages[scopes[0]] & pages[scopes[1]]
