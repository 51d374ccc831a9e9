"""OTEL_TRACES_SAMPLER is honoured: an unsampled request records no span, yet its
response still names its trace id and its audit entry carries the same one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from gateway.tracing import instrument_engine, provider_from_env
from store.crypto import Cipher, KeyRing
from store.db import create_engine, session_factory
from tests.audit.test_audit_log import entries
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token


@pytest.fixture
async def unsampled(
    settings: Settings, key_ring: KeyRing, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Runtime, InMemorySpanExporter]]:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    exporter = InMemorySpanExporter()
    provider = provider_from_env(export=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = create_engine(settings.database_url)
    instrument_engine(engine, provider)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        cipher=Cipher(key_ring),
        tracer_provider=provider,
    )
    yield runtime, exporter
    await runtime.close()


async def test_an_unsampled_request_keeps_its_trace_id_and_records_no_span(
    settings: Settings, unsampled: tuple[Runtime, InMemorySpanExporter]
) -> None:
    runtime, exporter = unsampled
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ households { totalCount } }"},
                headers={"authorization": f"Bearer {token}"},
            )
    assert response.status_code == 200, response.text
    trace_id = response.headers["x-trace-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id) and trace_id != "0" * 32
    assert (await entries(runtime))[-1]["trace_id"] == trace_id
    assert exporter.get_finished_spans() == ()
