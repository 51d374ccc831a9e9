"""`GET /metrics`: the process's OpenTelemetry instruments in Prometheus text, who
may read them, and that no caller can choose a label's value.

The scrape of a real server, with its traffic, is in test_observability_served.py."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.instruments import MAX_OPERATION_NAMES
from gateway.runtime import Runtime
from tests.audit.test_audit_log import SUBMIT
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, id_number, issue_token, load_regions

TOKEN = "metrics-" + "k" * 32
HOUSEHOLDS = "query Households { households(first: 2) { totalCount } }"
BANK = "query Accounts { households(first: 2) { edges { node { bankAccount } } } }"
REQUESTS = "dibao_requests_total"


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of one metric, by their labels."""
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def total(text: str, name: str, **labels: str) -> float:
    return sum(value for key, value in samples(text, name).items() if set(labels.items()) <= key)


def label_values(text: str, name: str, label: str) -> set[str]:
    return {dict(key)[label] for key in samples(text, name) if label in dict(key)}


@contextlib.asynccontextmanager
async def client(app: Starlette, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 40123))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def scrape(api: Api) -> str:
    response = await api.client.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text


async def test_counters_move_with_traffic(api: Api, runtime: Runtime) -> None:
    """Requests by operation, outcome and role; latency; audit appends, one entry each;
    refusals; and the gauges of pools, policy version and anchors."""
    worker = await issue_token(runtime, "caseworker", "220183100", principal="cw-metrics-007")
    supervisor = await issue_token(runtime, "supervisor", "22", principal="sv-metrics-008")
    before = await scrape(api)
    for _ in range(3):
        assert "errors" not in await api.gql(worker, HOUSEHOLDS)
    denied = await api.gql(supervisor, BANK)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.post(None, HOUSEHOLDS)).status_code == 401
    after = await scrape(api)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved(REQUESTS, operation="Households", outcome="allowed", role="caseworker") == 3
    assert moved(REQUESTS, operation="Accounts", outcome="denied", role="supervisor") == 1
    assert moved(REQUESTS, outcome="unauthenticated", role="none", operation="none") == 1
    assert moved("dibao_requests_refused_total", outcome="denied", role="supervisor") == 1
    assert moved("dibao_requests_refused_total", outcome="unauthenticated") == 1
    assert moved("dibao_errors_total", code="FORBIDDEN") == 1
    assert moved("dibao_request_duration_seconds_count", operation="Households") == 3
    assert moved("dibao_request_duration_seconds_sum", operation="Households") > 0
    # one audit append per request, of one entry each
    assert moved("dibao_audit_append_duration_seconds_count") == 5
    assert moved("dibao_audit_append_batch_size_sum") == 5
    assert total(after, "dibao_policy_version") >= 1
    pools = samples(after, "dibao_db_pool_connections")
    assert {dict(k)["pool"] for k in pools} >= {"main"}
    if runtime.settings.is_postgres:  # the hot path's own pool, once it has served
        assert {dict(k)["pool"] for k in pools} == {"main", "reads"}
    # a scrape is not a request: neither counted nor audited, and it names no one
    assert moved(REQUESTS) == 5
    assert "metrics-00" not in after and "cw-metrics" not in after


async def test_a_mutation_entry_is_timed_as_one_audit_append(api: Api, runtime: Runtime) -> None:
    """A mutation's entry commits in its own transaction, not through the group commit
    of reads: it is counted there, once, as an append of one entry, timed within the
    request."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    before = await scrape(api)
    started = time.perf_counter()
    created = await api.gql(worker, SUBMIT, {"input": application()})
    elapsed = time.perf_counter() - started
    assert "errors" not in created, created
    after = await scrape(api)
    for name in ("dibao_audit_append_duration_seconds_count", "dibao_audit_append_batch_size_sum"):
        assert total(after, name) - total(before, name) == 1, name
    timed = total(after, "dibao_audit_append_duration_seconds_sum") - total(
        before, "dibao_audit_append_duration_seconds_sum"
    )
    assert 0 < timed <= elapsed


async def test_anchor_age_is_a_gauge_once_anchored(api: Api, runtime: Runtime) -> None:
    worker = await issue_token(runtime, "caseworker", "220183100")
    assert "dibao_audit_anchor_age_seconds" not in await scrape(api)  # none written yet
    await api.gql(worker, HOUSEHOLDS)
    runtime.anchors.flush()  # the ticker's job, every DIBAO_AUDIT_ANCHOR_SECONDS
    age = total(await scrape(api), "dibao_audit_anchor_age_seconds")
    assert 0 <= age < 60


@pytest.mark.sqlite_only
async def test_operation_names_cannot_blow_up_the_labels(api: Api, runtime: Runtime) -> None:
    """A caller makes up a new name for every request, names one after an ID number,
    or sends a name beside a document that never validates: the operation label
    keeps at most MAX_OPERATION_NAMES names of validated operations, and no digits
    of a person."""
    worker = await issue_token(runtime, "caseworker", "220183100")
    number = id_number()
    for i in range(MAX_OPERATION_NAMES + 30):
        body = await api.gql(worker, f"query Made{i}Up {{ __typename }}")
        assert body["data"] == {"__typename": "Query"}
    await api.gql(worker, f"query Q{number[:17]} {{ __typename }}")
    unvalidated = await api.client.post(
        "/graphql",
        json={"query": "query { nope }", "operationName": f"P{number[:17]}"},
        headers={"authorization": f"Bearer {worker}"},
    )
    assert unvalidated.json()["errors"]
    text = await scrape(api)
    names = label_values(text, REQUESTS, "operation")
    assert len(names) <= MAX_OPERATION_NAMES + 3, len(names)  # with other, none, anonymous
    assert "other" in names and "none" in names
    assert not any(re.search(r"[0-9]{5}", name) for name in names)
    assert number[:6] + number[6:14] not in text and number[-8:] not in text
    # every request still counted, under "other" once the names ran out
    assert total(text, REQUESTS, role="caseworker") == MAX_OPERATION_NAMES + 32


@pytest.mark.sqlite_only
async def test_without_a_token_only_this_host_is_answered(
    settings: Settings, runtime: Runtime
) -> None:
    app = create_app(settings, runtime)
    async with client(app, "203.0.113.7") as remote:
        refused = await remote.get("/metrics")
        assert refused.status_code == 404
        assert "dibao" not in refused.text
        # a token means nothing when none is configured
        assert (
            await remote.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        ).status_code == 404
    async with client(app, "::1") as local:
        assert (await local.get("/metrics")).status_code == 200
    async with client(app) as local:
        assert (await local.get("/metrics")).status_code == 200
        # through a proxy on this host, the caller is not on this host
        for header in ("x-forwarded-for", "forwarded", "x-real-ip"):
            proxied = await local.get("/metrics", headers={header: "203.0.113.7"})
            assert proxied.status_code == 404, header


@pytest.mark.sqlite_only
async def test_with_a_token_every_scrape_needs_it(settings: Settings, runtime: Runtime) -> None:
    app = create_app(dataclasses.replace(settings, metrics_token=TOKEN), runtime)
    async with client(app) as local:  # this host too: the token is the rule
        assert (await local.get("/metrics")).status_code == 401
    async with client(app, "203.0.113.7") as remote:
        for header in (
            "",
            "Bearer ",
            f"Bearer {TOKEN[:-1]}",
            f"Bearer {TOKEN}x",
            f"Basic {TOKEN}",
            TOKEN,
        ):
            refused = await remote.get("/metrics", headers={"authorization": header})
            assert refused.status_code == 401, header
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in refused.text
        ok = await remote.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert "dibao_audit_entries" in ok.text and "dibao_policy_version" in ok.text


def test_settings_refuse_a_short_token_and_an_unknown_log_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIBAO_METRICS_TOKEN", "short")
    with pytest.raises(
        ValueError,
        match=r"DIBAO_METRICS_TOKEN: the value given is not TOKEN \(at least 24 characters",
    ):
        load_settings()
    monkeypatch.setenv("DIBAO_METRICS_TOKEN", TOKEN)
    assert load_settings().metrics_token == TOKEN
    assert TOKEN not in repr(load_settings())
    monkeypatch.setenv("DIBAO_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match='DIBAO_LOG_FORMAT: "xml" is not auto, json or console'):
        load_settings()
    monkeypatch.setenv("DIBAO_LOG_FORMAT", "JSON")
    assert load_settings().log_format == "json"
