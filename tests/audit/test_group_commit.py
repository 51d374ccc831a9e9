"""Group commit: concurrent requests' entries share one statement and one commit, and
every promise of the single append still holds (one entry each, written before the
answer, a failed batch answers no one with data, one verifiable chain)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import types
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest

import audit.group
from audit.chain import AuditChain, verify
from audit.group import GroupCommit
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


# the writer alone, under a chain that only records: first, so that a mutant that
# stops the writer fails here at once rather than hanging a request below


HANG = 30  # a guard that turns a writer that never answers into a failure, not a bound on time


class _Chain:
    """Stands in for the chain under a GroupCommit: records each batch it is given;
    while `stuck`, a batch never finishes writing (until its writer is cancelled)."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.forgotten = 0
        self.stuck = False
        self.failing: asyncio.Event | None = None  # set: the batch being written fails
        self.writing = asyncio.Event()

    async def append_batch(self, conn: Any, items: list[dict[str, Any]]) -> list[int]:
        self.writing.set()
        if self.stuck:
            await asyncio.Event().wait()
        if self.failing is not None:
            await self.failing.wait()
            self.failing = None
            raise OSError("the batch's statement failed")
        first = sum(len(b) for b in self.batches) + 1
        self.batches.append(items)
        return list(range(first, first + len(items)))

    def forget_head(self) -> None:
        self.forgotten += 1


@contextlib.asynccontextmanager
async def _connect() -> AsyncIterator[Any]:
    yield None


def _group(chain: _Chain, **options: Any) -> GroupCommit:
    return GroupCommit(cast(AuditChain, chain), _connect, **options)


async def test_an_idle_writer_commits_a_lone_entry_within_a_turn_of_the_loop() -> None:
    """No batch waits for company by default: the entry is written after the turns
    of the loop its own tasks take, with no time passing on any clock."""
    chain = _Chain()
    appended = asyncio.create_task(_group(chain).append({"n": 1}))
    for _ in range(10):
        await asyncio.sleep(0)
    assert chain.batches == [[{"n": 1}]]
    assert appended.done() and appended.result() == 1


async def test_a_batch_holds_at_most_256_entries_and_reports_each_commit() -> None:
    """A burst larger than a batch is split at MAX_ENTRIES (256): one statement's size
    is bounded. Each committed batch is told to the metrics with its seconds (the
    writer's own clock) and its size."""
    chain = _Chain()
    observed: list[tuple[float, int]] = []
    readings = itertools.cycle([10.0, 10.25])
    clock = types.SimpleNamespace(perf_counter=lambda: next(readings))
    group = _group(chain, observe=lambda seconds, size: observed.append((seconds, size)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(audit.group, "time", clock)
        appends = asyncio.gather(*(group.append({"n": i}) for i in range(300)))
        seqs = await asyncio.wait_for(appends, HANG)
    assert seqs == list(range(1, 301))
    assert [len(b) for b in chain.batches] == [256, 44]
    assert observed == [(0.25, 256), (0.25, 44)]


async def test_after_a_failed_batch_the_writer_goes_on_with_the_entries_queued_behind_it() -> None:
    """A failed batch fails its own callers only: the entries that arrived while it
    was being written make the next batch, without waiting for another request."""
    chain = _Chain()
    chain.failing = release = asyncio.Event()
    group = _group(chain)
    failed = asyncio.create_task(group.append({"n": 1}))
    await chain.writing.wait()
    queued = asyncio.create_task(group.append({"n": 2}))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(OSError, match="statement failed"):
        await asyncio.wait_for(failed, HANG)
    assert await asyncio.wait_for(queued, HANG) == 1
    assert chain.batches == [[{"n": 2}]]
    assert chain.forgotten == 1  # the failed batch's head never committed


async def test_a_writer_cancelled_mid_batch_leaves_no_caller_waiting() -> None:
    """Cancelled at shutdown while a batch is being written: the callers of that batch
    and those queued behind it are cancelled, not left waiting; the cached head is
    forgotten (the batch may not have committed), and nothing queued then is written
    by the next writer."""
    chain = _Chain()
    chain.stuck = True
    group = _group(chain)
    writing = asyncio.create_task(group.append({"n": 1}))
    await chain.writing.wait()
    queued = asyncio.create_task(group.append({"n": 2}))
    await asyncio.sleep(0)
    assert group._writer is not None
    group._writer.cancel()
    await asyncio.wait({writing, queued}, timeout=HANG)
    assert writing.cancelled() and queued.cancelled()
    assert chain.forgotten == 1
    chain.stuck = False
    assert await asyncio.wait_for(group.append({"n": 3}), HANG) == 1
    assert chain.batches == [[{"n": 3}]]


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
