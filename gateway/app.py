"""The ASGI application: `/graphql` behind the gateway, `/documents/{id}`,
`/exports/{id}`, `/healthz`, `/readyz`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.config import Settings
from gateway.downloads import DocumentDownloads
from gateway.endpoint import GraphQLEndpoint
from gateway.export_retention import purge_every
from gateway.exports import ExportDownloads
from gateway.graphiql import routes as graphiql_routes
from gateway.metrics import metrics_endpoint
from gateway.runtime import Runtime
from gateway.tracing import ServerSpans, current_trace_id, keep_fault_trace
from schema.errors import error_body

CONSOLE_DIR = Path(__file__).with_name("console")
# the console runs in closed networks: everything from this origin, no inline script
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "strict-transport-security": "max-age=31536000",
}


UNEXPECTED = "Internal error. The request was not completed."


class ResponseHeaders:
    """Security headers and X-Trace-Id (the OpenTelemetry trace id) on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trace_id = current_trace_id()
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if trace_id:
                    headers["x-trace-id"] = trace_id
                if scope["path"].startswith("/console"):
                    headers["content-security-policy"] = CONSOLE_CSP
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's last-resort 500 is sent outside every middleware: bare, with
            # no security headers and no trace id to find the logged fault by. Ours is
            # sent through them, in the error shape every other answer has; the
            # exception goes on up, and the server logs it (as classes and frames)
            keep_fault_trace(trace_id)
            if not started:
                # the server closes the connection after a fault it logs: said here, a
                # client does not send its next request on it
                response = JSONResponse(
                    error_body("INTERNAL", UNEXPECTED),
                    status_code=500,
                    headers={"connection": "close"},
                )
                await response(scope, receive, send_with_headers)
            raise


def cors(settings: Settings) -> list[Middleware]:
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["POST"],
            allow_headers=["authorization", "content-type", "traceparent"],
            expose_headers=["x-trace-id"],
            max_age=600,
        )
    ]


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or Runtime.from_settings(settings, traced=True)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def console_root(_: Request) -> Response:
        return RedirectResponse("/console/", status_code=308)

    async def readyz(_: Request) -> Response:
        try:
            async with asyncio.timeout(2):
                async with runtime.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"; the reason stays in the server log
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    # the settings given here decide the path, even with a runtime shared between apps
    graphql = GraphQLEndpoint(runtime, fast_path=settings.fast_path, ide=settings.graphiql)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        summaries = asyncio.create_task(graphql.summarise_refusals())
        # expired export files deleted at start and hourly, on the requests' chain
        purges = asyncio.create_task(purge_every(runtime, graphql.chain))
        try:
            yield
        finally:
            for task in (summaries, purges):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(Exception):  # shutting down: the log says if it failed
                await graphql.flush_refusals()
            await runtime.close()

    routes = [
        # every method reaches the endpoint, so that each refusal is audited too
        Route("/graphql", graphql),
        # a scanned document's bytes: policy, scope and one audit entry, as /graphql;
        # any path below it is an id (the same NOT_FOUND for one that is not). Every
        # method reaches it too: a router's own 405 would leave no entry and name HEAD,
        # which the download refuses, as allowed
        Route("/documents/{document_id:path}", DocumentDownloads(graphql)),
        # a file requestExport wrote, to the principal who asked for it (same pipeline)
        Route("/exports/{export_id:path}", ExportDownloads(graphql)),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint(runtime, token=settings.metrics_token), methods=["GET"]),
        Route("/console", console_root),
        Mount("/console", StaticFiles(directory=CONSOLE_DIR, html=True, check_dir=False)),
        # GraphiQL's own files and the SDL it reads, only where GraphiQL is on
        *(graphiql_routes(graphql.schema.as_str()) if settings.graphiql else []),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(
                ServerSpans,
                tracer_provider=runtime.tracer_provider,
                # a span names a route by its first segment, only one of these
                routes={
                    "/" + r.path.split("/", 2)[1] for r in routes if isinstance(r, Route | Mount)
                },
            ),
            Middleware(ResponseHeaders),
            *cors(settings),
        ],
    )
    app.state.runtime = runtime
    return app
