"""Related objects come through DataLoaders: statements per page do not grow with its size."""

from __future__ import annotations

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
    and the fast reader's (raw asyncpg) alike; SQLite's explicit BEGIN not counted."""
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
    # credential lookup, page, count, one batch each for regions, members, reviews,
    # payments and assets, and the audit append (one statement on PostgreSQL; on
    # SQLite the head update and the two inserts)
    assert large == (9 if runtime.engine.dialect.name == "postgresql" else 11), large


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
    # credential, page, members, count, audit (PostgreSQL: one statement each;
    # SQLite's audit write is three)
    assert large == (5 if runtime.engine.dialect.name == "postgresql" else 7), large
