"""A full run of `dibao serve --demo` as operations would watch it: every role's
requests, refusals, bad input made of real people's data and a mutation, then the
log and /metrics read as a county's IT staff would.

- every line of the captured log is a JSON object (uvicorn's too), and each request
  left exactly one, carrying trace_id, principal, operation and outcome;
- the trace id joins the X-Trace-Id header, the audit entry and the log line;
- no ID number, name, phone or bank account the run saw (clear or partial) is in it;
- /metrics, scraped over TCP, moved with the traffic, and is not answered to a
  client off this host.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from gateway.config import Settings
from gateway.runtime import Runtime
from tests.api.test_metrics import total
from tests.helpers import id_number, issue_token
from tests.serving import DIBAO, dibao_serve, free_port

MEMBERS = """query Members { households(first: 100) { edges { node { archiveNo regionCode
  members { name idNumber phone } } } } }"""
ACCOUNTS = "query Accounts { households(first: 100) { edges { node { archiveNo bankAccount } } } }"
VERIFY = (
    "query Verify($id: String!) { verifyRecipient(idNumber: $id) { isRecipient name idNumber } }"
)
HOUSEHOLD = "query One($no: String!) { household(archiveNo: $no) { status members { name } } }"
SUBMIT = """mutation Submit($input: ApplicationInput!) {
  submitApplication(input: $input) { archiveNo status } }"""
EVENTS = """query Events { auditEvents(principal: "demo-caseworker", first: 200) {
  edges { node { traceId operationName outcome } } } }"""
DEMO_LINES = (
    "seeding households",
    "seeded ",
    "demo tokens",
    "(the partner token",
    "GraphiQL:",
    "Security officers'",
)
METRICS_TOKEN = "scrape-" + "0123456789abcdef" * 2
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def demo_tokens(folder: Path) -> dict[str, str]:
    tokens = {}
    for log in folder.glob("serve-*.log"):
        for line in log.read_text().splitlines():
            words = line.split()
            if len(words) == 3 and words[2].startswith("dibao_"):
                tokens[words[0]] = words[2]
    assert len(tokens) == 8, tokens
    return tokens


def outside_address() -> str | None:
    """An address of this host that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this picks the route
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


class Run:
    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens
        self.sent = 0
        self.seen: set[str] = set()  # personal values the run saw or sent

    async def post(
        self, role: str | None, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        extra = dict(headers or {})
        if role is not None:
            extra.setdefault("authorization", f"Bearer {self.tokens[role]}")
        self.sent += 1
        if isinstance(body, str | bytes):
            extra.setdefault("content-type", "application/json")
            return await self.client.post("/graphql", content=body, headers=extra)
        return await self.client.post("/graphql", json=body, headers=extra)

    async def gql(self, role: str | None, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.post(role, {"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        return body


def nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in body["data"]["households"]["edges"]]


def fragments(value: str) -> set[str]:
    """A value and the parts of it that identify a person on their own."""
    if "*" in value:  # masked as the API answers (its kept parts alone name no one)
        return {value}
    if CJK.match(value):  # a name: whole, and a given name of two or more characters
        return {value, value[1:]} if len(value) > 2 else {value}
    digits = re.sub(r"[^0-9Xx]", "", value)
    found = {value}
    if len(digits) >= 11:  # ID number, phone, bank account: the hidden and kept parts
        found |= {digits, digits[:-4], digits[-8:], digits[3:11]}
    return {f for f in found if len(f) >= 8}


async def metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return total(response.text, name, **labels)


async def test_a_full_run_logs_no_person_and_joins_traces(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIBAO_", "OTEL_"))}
    env["DIBAO_AUDIT_ANCHOR_FILE"] = str(tmp_path / "anchors.jsonl")
    env["DIBAO_CONNECT_TIMEOUT_S"] = "30"
    env["DIBAO_RATE_LIMITS"] = "anonymous=1/3"  # a few refusals for their rate
    every_interface = ["--demo", "--host", "0.0.0.0"]  # noqa: S104 (for the off-host scrape)
    async with dibao_serve(env, tmp_path, every_interface) as base:
        tokens = demo_tokens(tmp_path)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            before = await metric(client, "dibao_requests_total")
            run = Run(client, tokens)
            joined = await traffic(run)
            after = await metric(client, "dibao_requests_total")
            assert after - before == run.sent
            assert await metric(client, "dibao_requests_rate_limited_total") >= 1
            assert await metric(client, "dibao_audit_append_batch_size_count") >= run.sent - 3
            assert (
                await metric(client, "dibao_requests_total", role="caseworker", operation="Members")
                == 2
            )
            events = await run.gql("auditor", EVENTS)
        outside = outside_address()
        if outside is not None:  # the same server, reached from off loopback
            port = base.rsplit(":", 1)[1]
            async with httpx.AsyncClient(base_url=f"http://{outside}:{port}") as far:
                assert (await far.get("/metrics")).status_code == 404
                assert (await far.get("/healthz")).status_code == 200
    audit_traces = {e["node"]["traceId"] for e in events["data"]["auditEvents"]["edges"]}
    lines = read_log(tmp_path)
    requests = [line for line in lines if line["logger"] == "dibao.request"]
    # one line per request, each carrying the join keys
    assert len(requests) == run.sent
    assert all({"trace_id", "principal", "operation", "outcome"} <= r.keys() for r in requests)
    assert all(re.fullmatch(r"[0-9a-f]{32}", r["trace_id"]) for r in requests)
    by_trace = {r["trace_id"]: r for r in requests}
    for header, trace in joined:
        assert header == trace  # X-Trace-Id
        assert trace in audit_traces  # the audit entry
        line = by_trace[trace]  # the log line
        assert line["principal"] == "demo-caseworker" and line["role"] == "caseworker"
        assert line["operation"] == "Members" and line["outcome"] == "allowed"
    outcomes = {r["outcome"] for r in requests}
    assert outcomes >= {"allowed", "masked", "denied", "invalid", "unauthenticated"}
    assert {r["principal"] for r in requests} >= {f"demo-{role}" for role in tokens}
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    scan(tmp_path, run.seen)


def read_log(folder: Path) -> list[dict[str, Any]]:
    """Every line: a JSON object, or one the demo prints for the person starting it."""
    [log] = folder.glob("serve-*.log")
    parsed = []
    for text in log.read_text().splitlines():
        stripped = text.strip()
        if stripped.startswith("{"):
            parsed.append(json.loads(stripped))
            continue
        demo = stripped.startswith(DEMO_LINES) or (
            len(stripped.split()) in (1, 3) and stripped.split()[-1].startswith("dibao_")
        )
        assert demo or not stripped, f"not a JSON line: {text!r}"
    return parsed


def serve_log(folder: Path) -> str:
    [log] = folder.glob("serve-*.log")
    return log.read_text()


def scan(folder: Path, seen: set[str]) -> None:
    text = serve_log(folder)
    assert len(seen) > 100, len(seen)  # the run did see people
    found = sorted({f for value in seen for f in fragments(value) if f in text})
    assert found == []


async def traffic(run: Run) -> list[tuple[str, str]]:
    """Requests by every role, refusals and bad input; returns (X-Trace-Id, traceparent's
    trace id) pairs of requests to join afterwards."""
    seen = run.seen
    # readers in clear and masked
    reviewer = nodes(await run.gql("county_reviewer", MEMBERS))
    for household in reviewer:
        for m in household["members"]:
            seen.update(v for v in (m["name"], m["idNumber"], m["phone"]) if v)
    finance = nodes(await run.gql("finance_officer", ACCOUNTS))
    seen.update(h["bankAccount"] for h in finance if h["bankAccount"])
    for h in nodes(await run.gql("supervisor", MEMBERS)):
        for m in h["members"]:
            seen.update(v for v in (m["name"], m["idNumber"], m["phone"]) if v)
    people = [m for h in reviewer for m in h["members"] if m["idNumber"]]
    person = people[0]
    # the trace joins: one by the server's own trace, one by the caller's traceparent
    joined = []
    response = await run.post("caseworker", {"query": MEMBERS})
    joined.append((response.headers["x-trace-id"], response.headers["x-trace-id"]))
    theirs = uuid.uuid4().hex
    response = await run.post(
        "caseworker",
        {"query": MEMBERS},
        headers={"traceparent": f"00-{theirs}-{uuid.uuid4().hex[:16]}-01"},
    )
    joined.append((response.headers["x-trace-id"], theirs))
    workers = nodes(response.json())
    for h in workers:
        for m in h["members"]:
            seen.update(v for v in (m["name"], m["idNumber"], m["phone"]) if v)
    # partner lookups: one found, one not, one malformed
    await run.gql("partner", VERIFY, id=person["idNumber"])
    await run.gql("partner", VERIFY, id=id_number())
    await run.gql("partner", VERIFY, id=person["idNumber"][:-1] + person["name"])
    # every other role, allowed and refused
    await run.gql("auditor", "query Head { auditEvents(first: 5) { totalCount } }")
    await run.gql("secadmin", "query Rules { policyRules { subject } }")
    await run.gql("sysadmin", "query Ping { __typename }")
    denied = await run.gql("supervisor", ACCOUNTS)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await run.gql("auditor", MEMBERS)
    # bad input made of a person: as values, as names, as the document, as the token
    await run.gql("caseworker", HOUSEHOLD, no=person["idNumber"])
    await run.gql("caseworker", HOUSEHOLD, no=f"{person['name']} {person['phone']}")
    await run.gql("caseworker", f"query Q{person['idNumber'][:17]} {{ __typename }}")
    await run.post(
        "caseworker",
        {"query": f'{{ household(archiveNo: "{person["name"]}{person["idNumber"]}") ', "x": 1},
    )
    await run.post("caseworker", f'{{"query": "{person["name"]} {person["idNumber"]}')
    await run.post(
        "caseworker",
        {
            "query": HOUSEHOLD,
            "variables": {"no": int(person["idNumber"][:17])},
            "operationName": f"N{person['idNumber'][:17]}",
        },
    )
    await run.post(None, {"query": MEMBERS}, {"authorization": f"Bearer {person['idNumber']}"})
    for _ in range(4):  # past the anonymous burst: refused for its rate, counted
        await run.post(None, {"query": MEMBERS})
    # mutations: a claim of an ID number already held, one malformed, one that succeeds
    village = next(h["regionCode"] for h in workers)
    fresh = {"name": "欧阳明月", "idNumber": id_number(), "phone": "13912345678"}
    seen.update(fresh.values())
    seen.update({"幸福路 12 号", "6222021234567890123"})
    conflict = await run.gql(
        "caseworker",
        SUBMIT,
        input=application(village, person["name"], person["idNumber"], person["phone"]),
    )
    assert conflict["errors"][0]["extensions"]["code"] in {"CONFLICT", "BAD_USER_INPUT"}
    bad = application(village, fresh["name"], fresh["idNumber"][:-2], fresh["phone"])
    assert (await run.gql("caseworker", SUBMIT, input=bad))["errors"]
    done = await run.gql("caseworker", SUBMIT, input=application(village, **fresh))
    assert done["data"]["submitApplication"]["status"] == "SUBMITTED", done
    return joined


def application(village: str, name: str, idNumber: str, phone: str | None) -> dict[str, Any]:
    return {
        "villageCode": village,
        "address": "幸福路 12 号",
        "bankAccount": "6222021234567890123",
        "members": [
            {
                "name": name,
                "idNumber": idNumber,
                "relation": "HEAD",
                "monthlyIncome": "300.00",
                "phone": phone,
            }
        ],
    }


class Collector:
    """An OTLP/HTTP receiver: keeps the metric names of each export it is sent."""

    def __init__(self) -> None:
        self.metric_names: set[str] = set()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.path == "/v1/metrics":
                    export = ExportMetricsServiceRequest.FromString(body)
                    collector.metric_names.update(
                        metric.name
                        for resource in export.resource_metrics
                        for scope in resource.scope_metrics
                        for metric in scope.metrics
                    )
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.sqlite_only
async def test_console_lines_a_metrics_token_and_otlp_on_a_real_server(
    settings: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    """One server: DIBAO_LOG_FORMAT=console gives readable lines with the request's
    keys; with DIBAO_METRICS_TOKEN every scrape needs it, from this host too; with an
    OTLP endpoint the same instruments are exported there."""
    worker = await issue_token(runtime, "caseworker", "220183100", principal="cw-console")
    with Collector() as otlp:
        await served_with_a_token(settings, tmp_path, worker, otlp)


async def served_with_a_token(
    settings: Settings, tmp_path: Path, worker: str, otlp: Collector
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIBAO_", "OTEL_"))}
    env.update(
        DIBAO_DATABASE_URL=settings.database_url,
        DIBAO_KEY_FILE=str(settings.key_file),
        DIBAO_AUDIT_ANCHOR_FILE=str(tmp_path / "anchors.jsonl"),
        DIBAO_CONNECT_TIMEOUT_S="30",
        DIBAO_LOG_FORMAT="console",
        DIBAO_METRICS_TOKEN=METRICS_TOKEN,
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="200",
    )
    async with (
        dibao_serve(env, tmp_path) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        assert (await client.get("/metrics")).status_code == 401
        wrong = {"authorization": f"Bearer {METRICS_TOKEN[::-1]}"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 401
        scraper = {"authorization": f"Bearer {METRICS_TOKEN}"}
        before = (await client.get("/metrics", headers=scraper)).text
        query = {"query": "query Ping { __typename }"}
        response = await client.post(
            "/graphql", json=query, headers={"authorization": f"Bearer {worker}"}
        )
        assert response.status_code == 200
        after = (await client.get("/metrics", headers=scraper)).text
        for _ in range(100):
            if "dibao.requests" in otlp.metric_names:
                break
            await asyncio.sleep(0.1)
    assert {"dibao.requests", "dibao.request.duration", "dibao.audit.append.duration"} <= (
        otlp.metric_names
    )
    labels = {"operation": "Ping", "role": "caseworker", "outcome": "allowed"}
    assert total(after, "dibao_requests_total", **labels) == 1
    assert total(before, "dibao_requests_total", **labels) == 0
    text = serve_log(tmp_path)
    assert METRICS_TOKEN not in text
    [line] = [line for line in text.splitlines() if "dibao.request" in line]
    assert not line.startswith("{")
    assert f"trace_id={response.headers['x-trace-id']}" in line
    assert "principal=cw-console" in line and "operation=Ping" in line
    assert "outcome=allowed" in line
    # a probe for the token shows (refusals are summed, a line a minute at most)
    assert "metrics scrapes refused: " in text and "(last: 401)" in text
    assert any("uvicorn.error" in line and "Uvicorn running" in line for line in text.splitlines())


def test_serve_refuses_a_bad_log_format_or_a_short_metrics_token(tmp_path: Path) -> None:
    for name, value, said in (
        ("DIBAO_LOG_FORMAT", "yaml", "is not auto, json or console"),
        ("DIBAO_METRICS_TOKEN", "not-so-secret", "at least 24 characters"),
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIBAO_")}
        env.update({"DIBAO_KEY_FILE": str(tmp_path / "keys.json"), name: value})
        done = subprocess.run(
            [str(DIBAO), "serve", "--port", str(free_port())],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert name in done.stderr and said in done.stderr
    assert "not-so-secret" not in done.stderr  # a secret, even a bad one, is not echoed
