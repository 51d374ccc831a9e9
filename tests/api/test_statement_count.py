"""Related objects come through DataLoaders: statements per page do not grow with its size."""

from __future__ import annotations

import datetime as dt
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.runtime import Runtime
from store.seed import seed
from tests.conftest import Api
from tests.helpers import issue_token

PAGE = """
query Page($first: Int!) {
  households(first: $first) {
    totalCount
    edges { node {
      archiveNo status region { name }
      members { relation monthlyIncome }
      reviews { step toStatus }
      payments { period amount status }
      assets { kind }
    } }
  }
}
"""


async def count_statements(
    spans: InMemorySpanExporter, api: Api, token: str, query: str, first: int
) -> tuple[int, Any]:
    """Statements of one request, from its database spans: SQLAlchemy's (EngineTracer)
    and the fast reader's (raw asyncpg) alike; SQLite's explicit BEGIN not counted, nor
    the credential lookup: remembered for half a second (gateway/auth.py), it is there
    or not by how long the previous request took, never by the size of the answer."""
    spans.clear()
    response = await api.post(token, query, {"first": first})
    assert response.status_code == 200, response.text
    trace_id = response.headers["x-trace-id"]
    statements = [
        s
        for s in spans.get_finished_spans()
        if format(s.context.trace_id, "032x") == trace_id
        and {"db.system", "db.system.name"} & set(s.attributes or {})
        and not str((s.attributes or {}).get("db.statement", ""))
        .lstrip()
        .upper()
        .startswith("BEGIN")
        and "credentials.token_hash =" not in str((s.attributes or {}).get("db.statement", ""))
    ]
    return len(statements), response.json()


async def test_statements_per_page_are_constant(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    await seed(runtime.engine, runtime.cipher, households=120, seed=7)
    token = await issue_token(runtime, "county_reviewer", "*")
    await count_statements(spans, api, token, PAGE, 1)  # warm-up: the audit chain reads its head
    small, small_body = await count_statements(spans, api, token, PAGE, 5)
    large, large_body = await count_statements(spans, api, token, PAGE, 100)
    assert len(small_body["data"]["households"]["edges"]) == 5
    edges = large_body["data"]["households"]["edges"]
    assert len(edges) == 100
    assert sum(len(e["node"]["members"]) for e in edges) > 100
    assert any(e["node"]["payments"] for e in edges)
    assert small == large
    # page, count, one batch each for regions, members, reviews,
    # payments and assets, and the audit append (one statement on PostgreSQL; on
    # SQLite the head update and the two inserts)
    assert large == (8 if runtime.engine.dialect.name == "postgresql" else 10), large


COMPILED_PAGE = """
query Compiled($first: Int!) {
  households(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { archiveNo status monthlyBenefit members { relation name } } }
  }
}
"""


async def test_compiled_page_statements_are_constant(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    await seed(runtime.engine, runtime.cipher, households=120, seed=7)
    token = await issue_token(runtime, "county_reviewer", "*")
    await count_statements(spans, api, token, COMPILED_PAGE, 1)
    small, _ = await count_statements(spans, api, token, COMPILED_PAGE, 5)
    large, body = await count_statements(spans, api, token, COMPILED_PAGE, 100)
    edges = body["data"]["households"]["edges"]
    assert len(edges) == 100 and sum(len(e["node"]["members"]) for e in edges) > 100
    assert small == large
    # page, members, count, audit (PostgreSQL: one statement each;
    # SQLite's audit write is three)
    assert large == (4 if runtime.engine.dialect.name == "postgresql" else 6), large


SINCE = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
UNTIL = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
HOUSEHOLD_LISTS = """archiveNo categories
  members { name categories } reviews { step } objections { text } benefitHistory { amount }
  changes { kind } stageDays { days } payments { period bankAccount } assets { kind }"""
# every list of objects in the schema, with a query that reads it (and what it nests)
LIST_QUERIES: dict[str, tuple[str, str]] = {
    "Query.policyRules": ("secadmin", "{ policyRules { kind subject object } }"),
    "Query.dueForReview": (
        "county_reviewer",
        '{ dueForReview(before: "2100-01-01") { totalCount edges { cursor node { '
        + HOUSEHOLD_LISTS
        + " } } } }",
    ),
    "Query.overdue": (
        "county_reviewer",
        "{ overdue(stage: ACTIVE) { totalCount edges { node { " + HOUSEHOLD_LISTS + " } } } }",
    ),
    "Query.paymentBatches": (
        "finance_officer",
        '{ paymentBatches(countyCode: "220183") { id count byStatus { status count } } }',
    ),
    "Query.duplicateCandidates": (
        "county_reviewer",
        "{ duplicateCandidates { totalCount edges { cursor node { archiveNos elsewhere members } } } }",
    ),
    "Query.standards": (
        "county_reviewer",
        '{ standards(countyCode: "220183") { area monthlyAmount } }',
    ),
    "Query.auditActivity": (
        "auditor",
        f'{{ auditActivity(since: "{SINCE:%Y-%m-%dT%H:%M:%SZ}", '
        f'until: "{UNTIL:%Y-%m-%dT%H:%M:%SZ}", bucket: DAY, by: ROLE) {{ key count }} }}',
    ),
    "Query.credentials": ("sysadmin", "{ credentials { id role } }"),
    "Query.verificationActivity": (
        "auditor",
        '{ verificationActivity(county: "220183") { department received overdue } }',
    ),
    "Query.lookupAlerts": (
        "auditor",
        f'{{ lookupAlerts(since: "{SINCE:%Y-%m-%dT%H:%M:%SZ}", '
        f'until: "{UNTIL:%Y-%m-%dT%H:%M:%SZ}", threshold: 1) {{ principal misses }} }}',
    ),
    "Statistics.byStatus": (
        "county_reviewer",
        '{ statistics(period: "2026-11") { byStatus { status households } byCategory {'
        " category households } payments { status payments amount } } }",
    ),
    "AuditEventConnection.edges": (
        "auditor",
        "{ auditEvents(first: 50) { edges { node { seq fields { field decision } archiveNos"
        " lookups { kind found } } } } }",
    ),
    "HouseholdConnection.edges": (
        "county_reviewer",
        "{ households(first: 100) { edges { node { " + HOUSEHOLD_LISTS + " } } } }",
    ),
    # apart: 500 documents a household bound a page of 100 to half the cost limit
    "Household.documents": (
        "county_reviewer",
        "{ households(first: 100) { edges { node { archiveNo documents { id } } } } }",
    ),
    "Query.alerts": ("auditor", "{ alerts(status: null) { id rule evidence } }"),
    "Query.exports": ("auditor", "{ exports(newest: 200) { id kind principal rowCount } }"),
    "Query.alertThresholds": ("auditor", "{ alertThresholds { rule role threshold } }"),
    "Query.policyProposals": (
        "secadmin",
        "{ policyProposals(status: null) { id adds { object } removes { object } "
        "widened { object } } }",
    ),
    "PermissionReviewConnection.edges": (
        "auditor",
        "{ permissionReviews(first: 50) { edges { node { id unused } } } }",
    ),
    "PermissionReviewLists.unused": (
        "auditor",
        "{ permissionReview { unused { id lastUsedAt } expiring { id } "
        "broaderThanUse { usedRegion credential { id } } "
        "policyDifferences { change rule { object } } } }",
    ),
    # apart from the other lists: a page of 100 with findings would be over the cost limit
    "Household.verifications": (
        "county_reviewer",
        "{ households(first: 100) { edges { node { archiveNo verifications { id status } } } } }",
    ),
}
# lists read by the queries above (nested, or siblings of a listed field)
COVERED_BY = {
    **dict.fromkeys(
        (
            "Household.members",
            "Household.reviews",
            "Household.objections",
            "Household.benefitHistory",
            "Household.changes",
            "Household.stageDays",
            "Household.payments",
            "Household.assets",
        ),
        "HouseholdConnection.edges",
    ),
    "PolicyProposal.adds": "Query.policyProposals",
    "PolicyProposal.removes": "Query.policyProposals",
    "PolicyProposal.widened": "Query.policyProposals",
    "PermissionReviewLists.expiring": "PermissionReviewLists.unused",
    "PermissionReviewLists.broaderThanUse": "PermissionReviewLists.unused",
    "PermissionReviewLists.policyDifferences": "PermissionReviewLists.unused",
    "PaymentBatchSummary.byStatus": "Query.paymentBatches",
    "Statistics.byCategory": "Statistics.byStatus",
    "Statistics.payments": "Statistics.byStatus",
    "AuditEvent.fields": "AuditEventConnection.edges",
    "AuditEvent.lookups": "AuditEventConnection.edges",
    "DuplicateCandidateConnection.edges": "Query.duplicateCandidates",
    # built from the rows the verifications loader read: no statement of their own
    "HouseholdVerification.findings": "Household.verifications",
    "HouseholdVerification.discrepancies": "Household.verifications",
}


def object_lists() -> set[str]:
    from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType

    from schema.root import build_schema

    schema = build_schema()._schema
    found = set()
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or not isinstance(type_, GraphQLObjectType) or name == "Mutation":
            continue
        for field_name, field in type_.fields.items():
            inner, is_list = field.type, False
            while isinstance(inner, GraphQLNonNull | GraphQLList):
                is_list = is_list or isinstance(inner, GraphQLList)
                inner = inner.of_type
            if is_list and isinstance(inner, GraphQLObjectType):
                found.add(f"{name}.{field_name}")
    return found


# root fields that are connections now, measured as the lists they page
CONNECTION_ROOTS = {"Query.dueForReview", "Query.overdue", "Query.duplicateCandidates"}


# KNOWN GAP (issue 15, verification): the partner queue and its subjects read two
# statements per page whatever its size, but a credential of this test has no
# department, so its queue is always empty: measured once a department's queue is
# seeded here.
NOT_YET_MEASURED = {
    "VerificationRequestConnection.edges",
    "VerificationRequest.subjects",
}
# lists in what a mutation answers, built in memory from its own work: no statement
MUTATION_ANSWERS = {"ImportResult.errors", "ImportResult.errorsByKind", "BankReturnResult.problems"}


def test_every_list_of_the_schema_is_measured() -> None:
    assert object_lists() - NOT_YET_MEASURED - MUTATION_ANSWERS == (
        set(LIST_QUERIES) - CONNECTION_ROOTS
    ) | set(COVERED_BY)


async def test_every_list_costs_the_same_statements_for_more_rows(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    tokens = {
        role: await issue_token(runtime, role, "*" if role != "finance_officer" else "220183")
        for role in {role for role, _ in LIST_QUERIES.values()}
    }

    async def measure() -> dict[str, tuple[int, int]]:
        counted = {}
        for name, (role, query) in LIST_QUERIES.items():
            await count_statements(spans, api, tokens[role], query, 0)  # warm caches
            statements, body = await count_statements(spans, api, tokens[role], query, 0)
            assert "errors" not in body, (name, body)
            rows = len(str(body))  # grows with the rows returned
            counted[name] = (statements, rows)
        return counted

    await seed(runtime.engine, runtime.cipher, households=15, seed=3)
    small = await measure()
    await seed(runtime.engine, runtime.cipher, households=120, seed=4)
    large = await measure()
    for name in LIST_QUERIES:
        assert large[name][0] == small[name][0], (name, small[name], large[name])
    grew = {name for name in LIST_QUERIES if large[name][1] > small[name][1]}
    # the lists that hold the households, their nested lists and the audit log did grow
    assert {"HouseholdConnection.edges", "Query.dueForReview", "AuditEventConnection.edges"} <= grew
