"""OpenTelemetry set-up from the standard OTEL_* variables, passed explicitly everywhere.

An OTLP exporter is attached only when an endpoint is configured; without one,
spans still exist (their trace ids go into audit entries and X-Trace-Id) but
are not exported. The provider is never installed globally, so tests can give
each app its own in-memory exporter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.asgi import asgi_getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from audit import fields as F
from domain.principal import Principal

TRACER_NAME = "dibao"
# HTTP's methods as OpenTelemetry lists them; any other is recorded as OTHER_METHOD
STANDARD_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
OTHER_METHOD = "_OTHER"
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


# The trace of a request whose fault no handler caught. The server logs the fault
# after every middleware, and with them the request's span, has returned: its line
# would carry no trace id, and the one its 500 answered with would lead nowhere.
# Each request runs in a task of its own, so this reaches no other request's lines.
_fault_trace: ContextVar[str | None] = ContextVar("dibao_fault_trace", default=None)


def keep_fault_trace(trace_id: str | None) -> None:
    _fault_trace.set(trace_id)


def fault_trace_id() -> str | None:
    return _fault_trace.get()


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


class ServerSpans:
    """One SERVER span per HTTP request, continuing the caller's trace (`traceparent`).

    In place of the contrib ASGI middleware, which on every request also assembles
    the full URL, host, user agent and both generations of HTTP attributes, wraps
    `send` and records duration and size histograms (the README's performance
    section gives the profile's OpenTelemetry share before and after). Here: the method, the route's
    first segment (never an id below it) and the status; a path that is none of the
    app's routes is not named, and a method outside HTTP's standard ones is `_OTHER`.
    Unsampled requests (OTEL_TRACES_SAMPLER) still get a trace id, for X-Trace-Id and
    the audit entry."""

    def __init__(
        self, app: ASGIApp, tracer_provider: TracerProvider, *, routes: Collection[str]
    ) -> None:
        self.app = app
        self.tracer = trace.get_tracer("dibao.asgi", tracer_provider=tracer_provider)
        # the first segments of the app's own routes ("/graphql", ...): any other path
        # is the caller's text (an ID number typed into the address), never named
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        if method not in STANDARD_METHODS:  # a token the caller chose: OpenTelemetry's name
            method = OTHER_METHOD
        route: str | None = "/" + str(scope.get("path", "/")).split("/", 2)[1]
        if route not in self.routes:
            route = None
        attributes = {"http.request.method": method}
        if route is not None:
            attributes["http.route"] = route
        # OpenTelemetry's span name: "{method} {route}", the method alone without a
        # route, and "HTTP" for a method outside the standard ones
        name = "HTTP" if method == OTHER_METHOD else method
        parent = propagate.extract(cast(dict[str, Any], scope), getter=asgi_getter)
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with self.tracer.start_as_current_span(
            name if route is None else f"{name} {route}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes=attributes,
            # the SDK would record an escaping exception's message and traceback text:
            # a driver's message may quote a caller's value, and spans leave the process
            record_exception=False,
            set_status_on_exception=False,
        ) as current:
            failed: type[BaseException] | None = None
            try:
                await self.app(scope, receive, send_status)
            except Exception as exc:
                failed = type(exc)
                raise
            finally:
                if current.is_recording():
                    current.set_attribute("http.response.status_code", status)
                    if failed is not None:
                        current.set_attribute(
                            "error.type", f"{failed.__module__}.{failed.__qualname__}"
                        )
                    if status >= 500 or failed is not None:
                        current.set_status(trace.StatusCode.ERROR)
