"""Group commit: concurrent requests' entries share one statement and one commit, and
every promise of the single append still holds (one entry each, written before the
answer, a failed batch answers no one with data, one verifiable chain)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import audit.group
from audit.chain import AuditChain, verify
from gateway.runtime import Runtime
from tests.audit.test_audit_log import (
    READ,
    SUBMIT,
    _break_audit_inserts,
    _repair_audit_inserts,
    entries,
)
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions

WINDOW_S = 0.05  # long enough for every request in flight to join the open batch


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The sequence numbers each chain write took (zeros for one that failed); a
    batch stays open long enough for the requests in flight to join it."""
    written: list[list[int]] = []
    original = AuditChain.append_batch
    monkeypatch.setattr(audit.group, "WINDOW_S", WINDOW_S)

    async def recorded(self: AuditChain, conn: Any, items: list[dict[str, Any]]) -> list[int]:
        try:
            seqs = await original(self, conn, items)
        except Exception:
            written.append([0] * len(items))
            raise
        written.append(seqs)
        return seqs

    monkeypatch.setattr(AuditChain, "append_batch", recorded)
    return written


async def _household(api: Api, worker: str) -> str:
    created = await api.gql(worker, SUBMIT, {"input": application()})
    return str(created["data"]["submitApplication"]["archiveNo"])


async def test_concurrent_requests_share_commits_and_each_has_its_own_entry(
    api: Api, runtime: Runtime, batches: list[list[int]]
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    archive = await _household(api, worker)
    before = len(await entries(runtime))
    batches.clear()

    async def one(i: int) -> httpx.Response:
        if i % 9 == 0:  # a mutation: its entry in its own transaction, among the batches
            return await api.post(worker, SUBMIT, {"input": application()})
        if i % 5 == 0:
            return await api.post(None, READ, {"a": archive})  # 401, audited too
        return await api.post(worker, READ, {"a": archive})

    count = 36
    responses = await asyncio.gather(*(one(i) for i in range(count)))
    assert {r.status_code for r in responses} == {200, 401}
    for i, response in enumerate(responses):
        if response.status_code == 200 and i % 9:
            assert response.json()["data"]["household"]["archiveNo"] == archive

    log = (await entries(runtime))[before:]
    assert len(log) == count  # exactly one entry per request
    assert [e["seq"] for e in log] == list(range(before + 1, before + count + 1))
    # each response's trace id names exactly one entry: its own
    traces = [e["trace_id"] for e in log]
    for response in responses:
        assert traces.count(response.headers["x-trace-id"]) == 1
    assert sum(e["operation_type"] == "mutation" for e in log) == len(range(0, count, 9))
    shared = [b for b in batches if len(b) > 1]
    assert shared, batches  # reads did share commits
    # a batch is a run of consecutive entries, and batches commit in chain order
    for taken in batches:
        assert taken == list(range(taken[0], taken[0] + len(taken)))
    firsts = [b[0] for b in batches]
    assert firsts == sorted(firsts)
    assert sum(len(b) for b in batches) == count
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok


async def test_a_failed_batch_answers_every_request_in_it_without_data(
    api: Api, runtime: Runtime, batches: list[list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    archive = await _household(api, worker)
    before = len(await entries(runtime))
    batches.clear()
    # SQLite runs one request's transaction at a time: keep the batch open long enough
    monkeypatch.setattr(audit.group, "WINDOW_S", 0.5)
    await _break_audit_inserts(runtime)
    try:
        responses = await asyncio.gather(
            *(api.post(worker, READ, {"a": archive}) for _ in range(6))
        )
    finally:
        await _repair_audit_inserts(runtime)
    assert any(len(b) > 1 for b in batches), batches  # the failure hit shared batches
    for response in responses:
        assert response.status_code == 503
        body = response.json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL"]
        assert archive not in response.text
    assert len(await entries(runtime)) == before  # nothing of a failed batch was written

    # the chain carries on from its committed head
    again = await api.gql(worker, READ, {"a": archive})
    assert again["data"]["household"]["archiveNo"] == archive
    log = await entries(runtime)
    assert [e["seq"] for e in log] == list(range(1, before + 2))
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok
