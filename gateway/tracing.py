"""OpenTelemetry set-up from the standard OTEL_* variables, passed explicitly everywhere.

An OTLP exporter is attached only when an endpoint is configured; without one,
spans still exist (their trace ids go into audit entries and X-Trace-Id) but
are not exported. The provider is never installed globally, so tests can give
each app its own in-memory exporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions import SchemaExtension

from audit import fields as F
from domain.principal import Principal

TRACER_NAME = "dibao"
SERVICE_NAME = "dibao-archive-api"  # when OTEL_SERVICE_NAME does not name it


def provider_from_env(*, export: bool) -> TracerProvider:
    """The SDK reads the OTEL_* variables itself; `export` says an endpoint is set
    (the settings read that once, gateway/config.py), so an exporter is attached."""
    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    if export:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument_engine(engine: AsyncEngine, provider: TracerProvider) -> None:
    """A span per database statement, for this engine and this provider only.

    The contrib package's `instrument()` patches `create_engine` and
    `Engine.connect` process-wide (and declares sqlalchemy<2.1); its
    `EngineTracer` alone attaches to one engine, which is all we want.
    """
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider

    counter = (
        NoOpMeterProvider()
        .get_meter(TRACER_NAME)
        .create_up_down_counter("db.client.connections.usage", unit="connections")
    )
    EngineTracer(  # type: ignore[no-untyped-call]
        trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", tracer_provider=provider),
        engine.sync_engine,
        counter,
        enable_commenter=False,
    )


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


@contextmanager
def span(tracer: trace.Tracer, name: str, **attributes: Any) -> Iterator[trace.Span]:
    with tracer.start_as_current_span(name, attributes=attributes) as current:
        yield current


def principal_attributes(principal: Principal) -> dict[str, str]:
    """Only the role: principal names and scopes stay in the audit log, not in traces."""
    return {F.ATTR_ROLE: principal.role}


class GraphQLSpans(SchemaExtension):
    """Spans for parse, validate and execute: synchronous hooks, nothing per field."""

    def _tracer(self) -> trace.Tracer:
        gate = getattr(self.execution_context.context, "gate", None)
        found = getattr(gate, "tracer", None)
        return found if isinstance(found, trace.Tracer) else trace.NoOpTracer()

    def on_parse(self) -> Iterator[None]:
        with self._tracer().start_as_current_span("graphql.parse"):
            yield

    def on_validate(self) -> Iterator[None]:
        with self._tracer().start_as_current_span("graphql.validate"):
            yield

    def on_execute(self) -> Iterator[None]:
        with self._tracer().start_as_current_span("graphql.execute"):
            yield
