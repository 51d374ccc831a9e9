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
    server = next(s for s in finished if s.kind.name == "SERVER")
    # the request's one span is the SERVER span: the pipeline and the policy walk say
    # what they found on it; the audit write and the statements are its children
    assert by_name["dibao.audit.append"].parent.span_id == server.context.span_id
    assert "dibao.graphql.request" not in by_name and "dibao.policy.decide" not in by_name
    said = dict(server.attributes or {})
    assert said["dibao.outcome"] == "allowed"
    assert said["graphql.operation.type"] == "query"
    assert said["dibao.role"] == "caseworker"
    assert said["dibao.policy.decisions"] >= 5
    # and a read's, committed with the entries of concurrent reads
    assert by_name["dibao.audit.append"].attributes["dibao.audit.seq"] == last["seq"]
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


async def test_the_request_span_names_the_policy_decisions_and_nothing_else(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    """The request's span says which role asked, how many fields were decided, which were
    denied and which masked: field names only (an operator's view of the gate)."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    created = await api.gql(worker, SUBMIT, {"input": application()})
    archive = created["data"]["submitApplication"]["archiveNo"]
    supervisor = await issue_token(runtime, "supervisor", "22")
    finance = await issue_token(runtime, "finance_officer", "220183")

    def last_policy_span() -> dict[str, object]:
        # the walk's findings are said on the request's SERVER span
        found = [
            s
            for s in spans.get_finished_spans()
            if s.kind.name == "SERVER" and "dibao.policy.decisions" in (s.attributes or {})
        ]
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


async def test_a_path_or_method_the_service_does_not_serve_stays_out_of_the_trace(
    api: Api, spans: InMemorySpanExporter
) -> None:
    """The SERVER span's name and attributes are the caller's text only where it names
    a route of ours or a standard method: an ID number typed into the address, or sent
    as a method, would otherwise go to the trace backend, beside no audit control (and
    each new one a span name of its own)."""
    number = id_number()
    spans.clear()
    unknown = await api.client.get(f"/{number}")
    odd = await api.client.request(f"X{number}", "/graphql")
    assert (unknown.status_code, odd.status_code) == (404, 405)
    server = [s for s in spans.get_finished_spans() if s.kind.name == "SERVER"]
    assert len(server) == 2
    said = repr([(s.name, dict(s.attributes or {})) for s in server])
    assert number not in said, said
    # still the trace of each request, with its status
    assert [(s.attributes or {})["http.response.status_code"] for s in server] == [404, 405]


POINT = """query Point($a: String!) { household(archiveNo: $a) {
  archiveNo status address members { relation name idNumber monthlyIncome } } }"""


async def test_a_compiled_read_makes_a_request_span_its_statements_and_the_audit_write(
    api: Api, runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    """The hot path's spans are coarse (issue 18): the request's SERVER span, one CLIENT
    span per database round trip and the audit write; nothing per step in between, whose
    cost every read would pay."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    created = await api.gql(worker, SUBMIT, {"input": application()})
    archive = created["data"]["submitApplication"]["archiveNo"]
    await api.gql(worker, POINT, {"a": archive})  # the plan is made once, then reused
    spans.clear()
    response = await api.client.post(
        "/graphql",
        json={"query": POINT, "variables": {"a": archive}},
        headers={"authorization": f"Bearer {worker}", "traceparent": TRACEPARENT},
    )
    assert response.status_code == 200 and "errors" not in response.json()
    mine = [
        s
        for s in spans.get_finished_spans()
        if format(s.context.trace_id, "032x") == response.headers["x-trace-id"]
    ]
    (server,) = [s for s in mine if s.kind.name == "SERVER"]
    assert (server.attributes or {})["dibao.execution"] == "compiled"
    statements = [
        s for s in mine if s.kind.name == "CLIENT" and "db.system" in (s.attributes or {})
    ]
    rest = sorted(s.name for s in mine if s is not server and s not in statements)
    assert rest == ["dibao.audit.append"]
    if runtime.settings.database_url.startswith("postgresql"):
        # the household and its members, children of the request; the audit append's
        # one statement, a child of the audit span (SQLite's engine traces each of its
        # statements, BEGIN included)
        (audit,) = [s for s in mine if s.name == "dibao.audit.append"]
        reads = [s for s in statements if s.parent.span_id == server.context.span_id]
        appends = [s for s in statements if s.parent.span_id == audit.context.span_id]
        assert (len(reads), len(appends)) == (2, 1), [s.name for s in statements]
