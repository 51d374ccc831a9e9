"""An OTLP exporter is attached only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (README, "The
`dibao` command": configuration): no endpoint, no span leaves the process."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from gateway.config import load_settings
from gateway.tracing import provider_from_env


def exporters(provider: TracerProvider) -> list[object]:
    processors = provider._active_span_processor._span_processors
    return [
        p.span_exporter  # type: ignore[attr-defined]
        for p in processors
        if isinstance(p, BatchSpanProcessor)
    ]


def test_no_endpoint_no_exporter() -> None:
    settings = load_settings(environ={})
    assert settings.otlp_export is False
    provider = provider_from_env(export=settings.otlp_export)
    assert exporters(provider) == []
    provider.shutdown()


def test_an_endpoint_attaches_the_otlp_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    settings = load_settings(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert settings.otlp_export is True
    provider = provider_from_env(export=settings.otlp_export)
    [exporter] = exporters(provider)
    assert isinstance(exporter, OTLPSpanExporter)
    provider.shutdown()
