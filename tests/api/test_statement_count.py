"""Related objects come through DataLoaders: statements per page do not grow with its size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

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


async def count_statements(runtime: Runtime, api: Api, token: str, first: int) -> tuple[int, Any]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].lstrip().upper().startswith("BEGIN"):  # SQLite's explicit BEGIN
            statements.append(args[2])

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    try:
        body = await api.gql(token, PAGE, {"first": first})
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)
    return len(statements), body


async def test_statements_per_page_are_constant(api: Api, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=120, seed=7)
    token = await issue_token(runtime, "county_reviewer", "*")
    await count_statements(runtime, api, token, 1)  # warm-up: the audit chain reads its head once
    small, small_body = await count_statements(runtime, api, token, 5)
    large, large_body = await count_statements(runtime, api, token, 100)
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
