"""The 32 KB cap on a query text (README, "Set-up", `bench/worst_document.py`) is for texts
sent over the wire: a trusted document, stored by the host, is exempt. Both backends."""

from __future__ import annotations

from gateway.documents import store_documents
from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token


async def test_a_trusted_document_over_the_byte_cap_is_served(api: Api, runtime: Runtime) -> None:
    cap = runtime.limits.max_query_bytes
    text = "#" + "x" * cap + "\nquery Big { __typename }"
    assert len(text.encode()) > cap
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    sent = await api.client.post(
        "/graphql", json={"query": text}, headers={"authorization": f"Bearer {token}"}
    )
    assert sent.status_code == 413  # the same text over the wire: refused unread
    async with runtime.sessions.begin() as session:
        [doc_id] = await store_documents(session, [text])
    stored = await api.client.post(
        "/graphql", json={"documentId": doc_id}, headers={"authorization": f"Bearer {token}"}
    )
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"data": {"__typename": "Query"}}
