"""What the permission review costs (README, "Permission review"): the credentials' figures
take the same statements however many credentials a page holds, and `permissionReview`
is priced as a scan, one per document. Through GraphQL, on both backends."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.runtime import Runtime
from tests.api.test_statement_count import count_statements
from tests.authz.test_limits import assert_too_complex
from tests.conftest import Api
from tests.helpers import issue_token
from tests.review.test_permission_review import PING, USAGE, household


async def used_credentials(api: Api, runtime: Runtime, n: int, start: int) -> None:
    for i in range(start, start + n):
        token = await issue_token(runtime, "caseworker", "220183", principal=f"cw-{i}")
        assert "errors" not in await api.gql(token, PING)


async def test_the_figures_of_a_page_take_the_same_statements_for_more_credentials(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    await household(api, runtime)
    sysadmin = await issue_token(runtime, "sysadmin", "*", principal="sys")
    await used_credentials(api, runtime, 2, 0)
    await count_statements(spans, api, sysadmin, USAGE, 0)  # warm caches
    few, body = await count_statements(spans, api, sysadmin, USAGE, 0)
    assert "errors" not in body, body
    await used_credentials(api, runtime, 25, 2)
    many, body = await count_statements(spans, api, sysadmin, USAGE, 0)
    assert "errors" not in body, body
    assert len(body["data"]["credentials"]) >= 27
    assert all(c["lastUsedAt"] for c in body["data"]["credentials"] if c["principal"] != "sys")
    assert many == few, (few, many)


async def test_permission_review_is_one_per_document(api: Api, runtime: Runtime) -> None:
    auditor = await issue_token(runtime, "auditor", "*")
    one = "{ permissionReview { unusedDays } }"
    assert "errors" not in await api.gql(auditor, one)
    two = (
        "{ a: permissionReview { unusedDays } b: permissionReview(unusedDays: 30) { unusedDays } }"
    )
    assert_too_complex(await api.gql(auditor, two), "cost")
