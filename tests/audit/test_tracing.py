"""Spans for a request, asserted with the SDK's in-memory exporter."""

from __future__ import annotations

import re

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.runtime import Runtime
from tests.audit.test_audit_log import READ, SUBMIT, entries
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_spans_trace_id_header_and_audit_agree(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    created = await api.gql(worker, SUBMIT, {"input": application()})
    archive = created["data"]["submitApplication"]["archiveNo"]
    # the audit span names the entry it wrote: a mutation's, in its own transaction
    (appended,) = [s for s in spans.get_finished_spans() if s.name == "dibao.audit.append"]
    assert appended.attributes["dibao.audit.seq"] == (await entries(runtime))[-1]["seq"]
    spans.clear()
    response = await api.client.post(
        "/graphql",
        json={"query": READ, "variables": {"a": archive}},
        headers={"authorization": f"Bearer {worker}", "traceparent": TRACEPARENT},
    )
    assert response.status_code == 200
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"  # the caller's trace is continued
    assert response.headers["x-trace-id"] == trace_id
    last = (await entries(runtime))[-1]
    assert last["trace_id"] == trace_id

    # background work (the policy poll) has traces of its own; keep this request's
    finished = [
        s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id
    ]
    by_name = {s.name: s for s in finished}
    for name in (
        "dibao.graphql.request",
        "graphql.parse",
        "graphql.validate",
        "graphql.execute",
        "dibao.policy.decide",
        "dibao.audit.append",
    ):
        assert name in by_name, (name, sorted(by_name))
    request = by_name["dibao.graphql.request"]
    server = next(s for s in finished if s.kind.name == "SERVER")
    assert request.parent is not None and request.parent.span_id == server.context.span_id
    for name in ("graphql.parse", "graphql.execute", "dibao.audit.append"):
        assert by_name[name].parent.span_id == request.context.span_id, name
    assert (
        by_name["dibao.policy.decide"].parent.span_id == by_name["graphql.execute"].context.span_id
    )
    # and a read's, committed with the entries of concurrent reads
    assert by_name["dibao.audit.append"].attributes["dibao.audit.seq"] == last["seq"]
    policy = by_name["dibao.policy.decide"]
    assert policy.attributes["dibao.role"] == "caseworker"
    assert policy.attributes["dibao.policy.decisions"] >= 5
    db = [s for s in finished if {"db.system", "db.system.name"} & set(s.attributes or {})]
    assert len(db) >= 3, "database statement spans are missing"  # lookup, loader, audit
    assert all(s.parent is not None for s in db)


async def test_every_response_carries_a_trace_id(api: Api) -> None:
    for response in (await api.client.get("/healthz"), await api.client.post("/graphql", json={})):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-trace-id"])


async def test_no_personal_data_in_any_span_attribute(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    supervisor = await issue_token(runtime, "supervisor", "22")
    number, phone, name = id_number(), "13611112222", "上官婉儿"
    created = await api.gql(
        worker,
        SUBMIT,
        {"input": application(members=[member("HEAD", name=name, number=number, phone=phone)])},
    )
    archive = created["data"]["submitApplication"]["archiveNo"]
    full = "query($a: String!) { household(archiveNo: $a) { bankAccount members { name idNumber phone } } }"
    await api.gql(worker, full, {"a": archive})
    await api.gql(supervisor, READ, {"a": archive})
    await api.gql(
        worker,
        "query($id: String!) { verifyRecipient(idNumber: $id) { isRecipient name } }",
        {"id": number},
    )
    text = repr(
        [
            (s.name, dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events])
            for s in spans.get_finished_spans()
        ]
    )
    assert len(spans.get_finished_spans()) > 20
    for secret in (number, number[:6] + "********", phone, name, "6222021234567890123", "王建国"):
        assert secret not in text, secret


async def test_the_policy_span_names_the_decisions_and_nothing_else(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    """The policy span says which role asked, how many fields were decided, which were
    denied and which masked: field names only (an operator's view of the gate)."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    created = await api.gql(worker, SUBMIT, {"input": application()})
    archive = created["data"]["submitApplication"]["archiveNo"]
    supervisor = await issue_token(runtime, "supervisor", "22")
    finance = await issue_token(runtime, "finance_officer", "220183")

    def last_policy_span() -> dict[str, object]:
        found = [s for s in spans.get_finished_spans() if s.name == "dibao.policy.decide"]
        return dict(found[-1].attributes or {})

    query = "query($a: String!) { household(archiveNo: $a) { status members { name } } }"
    assert "errors" not in await api.gql(supervisor, query, {"a": archive})
    seen = last_policy_span()
    assert seen["dibao.role"] == "supervisor"
    assert seen["dibao.policy.decisions"] == 4  # Query.household, status, members, name
    assert list(seen["dibao.policy.masked"]) == ["Member.name"]
    assert list(seen["dibao.policy.denied"]) == []
    refused = await api.gql(
        finance, "query($a: String!) { household(archiveNo: $a) { address } }", {"a": archive}
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    seen = last_policy_span()
    assert seen["dibao.role"] == "finance_officer"
    assert list(seen["dibao.policy.denied"]) == ["Household.address"]


async def test_the_server_span_names_the_route_never_what_follows_it(
    api: Api, spans: InMemorySpanExporter
) -> None:
    """One SERVER span per request (gateway/tracing.py ServerSpans): method, the path's
    first segment and the status; an id below the route stays out of the trace."""
    spans.clear()
    response = await api.client.get("/documents/doc-4711-not-there")
    server = [s for s in spans.get_finished_spans() if s.kind.name == "SERVER"]
    assert [s.name for s in server] == ["GET /documents"]
    attributes = dict(server[0].attributes or {})
    assert attributes["http.response.status_code"] == response.status_code
    assert "doc-4711" not in repr(attributes)
    assert server[0].context.trace_id == int(response.headers["x-trace-id"], 16)
