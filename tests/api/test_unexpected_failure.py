"""A fault no handler caught still answers in the service's shape: the security
headers, the trace id that finds its log line, `INTERNAL`, and nothing of the fault.

Starlette's own last-resort 500 is sent outside every middleware, as bare text with
none of the headers; a client (or an operator) then has no trace id to report."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gateway import metrics
from gateway.app import SECURITY_HEADERS, create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from tests.helpers import id_number
from tests.serving import dibao_serve


async def broken_metrics(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, httpx.Response]:
    """GET /metrics while its database read fails with an ID number in the message."""
    number = id_number()

    async def broken(*_: Any, **__: Any) -> Any:
        # a driver's message may quote a value: none of it may reach the answer
        raise RuntimeError(f"duplicate key value (id_number)=({number})")

    # /metrics reads the alert counts from the database and has no handler of its own
    monkeypatch.setattr(metrics.alerts, "counts", broken)
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return number, await client.get("/metrics")


@pytest.mark.sqlite_only
async def test_an_uncaught_fault_is_a_500_with_the_headers_and_trace_id_and_no_detail(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    number, response = await broken_metrics(settings, runtime, monkeypatch)

    assert response.status_code == 500
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert len(response.headers["x-trace-id"]) == 32
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Internal error. The request was not completed.",
                "extensions": {"code": "INTERNAL"},
            }
        ],
    }
    assert number not in response.text and "duplicate key" not in response.text


@pytest.mark.sqlite_only
async def test_an_uncaught_fault_leaves_nothing_of_itself_on_the_server_span(
    settings: Settings,
    runtime: Runtime,
    spans: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number, response = await broken_metrics(settings, runtime, monkeypatch)

    trace = [
        s
        for s in spans.get_finished_spans()
        if format(s.context.trace_id, "032x") == response.headers["x-trace-id"]
    ]
    # spans leave the process (an OTLP collector): the fault's text is the caller's
    # values, as in the log line only its class may go
    text = repr(
        [
            (
                s.status.description,
                dict(s.attributes or {}),
                [(e.name, dict(e.attributes or {})) for e in s.events],
            )
            for s in trace
        ]
    )
    assert number not in text and "duplicate key" not in text, text
    (server,) = [s for s in trace if s.kind == SpanKind.SERVER]
    assert server.status.status_code == StatusCode.ERROR
    assert (server.attributes or {})["http.response.status_code"] == 500
    assert (server.attributes or {})["error.type"] == "builtins.RuntimeError"


def served_lines(folder: Path) -> list[dict[str, Any]]:
    (log,) = folder.glob("serve-*.log")
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.sqlite_only
async def test_a_served_fault_is_logged_once_as_classes_under_the_trace_id_it_answered(
    settings: Settings, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        "DIBAO_LOG_FORMAT": "json",
    }
    async with dibao_serve(env, tmp_path) as base:
        # a table gone under a running server: the driver's message names it and quotes
        # the statement, and /metrics has no handler of its own for it
        with sqlite3.connect(settings.database_url.split("///", 1)[1]) as db:
            db.execute("DROP TABLE alerts")
        async with httpx.AsyncClient(base_url=base) as client:
            response = await client.get("/metrics")
            # the server closes the connection after a fault: a client that kept it
            # for its next request must have been told, or that request fails unsent
            again = await client.get("/metrics")
    assert response.status_code == again.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL"}

    faults = [line for line in served_lines(tmp_path) if "exception" in line]
    # one line a fault, and the X-Trace-Id a client reports finds it
    assert [f["trace_id"] for f in faults] == [
        response.headers["x-trace-id"],
        again.headers["x-trace-id"],
    ]
    for fault in faults:
        assert "sqlalchemy.exc.OperationalError (message withheld)" in fault["exception"]
        assert "no such table" not in json.dumps(fault) and "SELECT" not in json.dumps(fault)
