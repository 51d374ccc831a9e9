"""The ASGI application: `/graphql` behind authentication, `/healthz`, `/readyz`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from domain.principal import Principal
from gateway.auth import authenticate
from gateway.config import Settings
from gateway.errors import error_body, format_error
from gateway.policy_gate import RequestGate
from gateway.runtime import Runtime
from resolvers.context import Context
from schema.root import build_schema
from store.types import utcnow

PRINCIPAL_KEY = "dibao.principal"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(
            build_schema(max_tokens=runtime.limits.max_tokens),
            graphql_ide="graphiql" if runtime.settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self.runtime = runtime

    async def get_context(self, request: Any, response: Any) -> Context:
        principal: Principal = request.scope[PRINCIPAL_KEY]
        runtime = self.runtime
        return Context(
            principal=principal,
            sessions=runtime.sessions,
            cipher=runtime.cipher,
            now=utcnow(),
            gate=RequestGate(
                principal=principal,
                engine=runtime.policy_engine,
                limits=runtime.limits,
                introspection_allowed=runtime.settings.demo,
            ),
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        body: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            body["errors"] = [format_error(e) for e in result.errors]
        return body


class AuthenticatedGraphQL:
    """Nothing reaches the GraphQL executor without a live credential."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.view = GraphQLView(runtime)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET":
            # only the IDE page itself is served over GET; its queries need a token
            if self.runtime.settings.graphiql and "text/html" in request.headers.get("accept", ""):
                response = await self.view.render_graphql_ide(request)
            else:
                response = JSONResponse(
                    error_body("BAD_USER_INPUT", "Send GraphQL operations with POST."),
                    status_code=405,
                    headers={"allow": "POST"},
                )
            await response(scope, receive, send)
            return
        principal = await authenticate(request, self.runtime.sessions)
        if principal is None:
            response = JSONResponse(
                error_body("UNAUTHENTICATED", "A valid bearer token is required."),
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="dibao"'},
            )
            await response(scope, receive, send)
            return
        scope[PRINCIPAL_KEY] = principal
        await self.view(scope, receive, send)


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    runtime = runtime or Runtime.from_settings(settings)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with asyncio.timeout(2):
                async with runtime.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"; the reason stays in the server log
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.close()

    app = Starlette(
        routes=[
            Route("/graphql", AuthenticatedGraphQL(runtime), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.runtime = runtime
    return app


class SecurityHeaders:
    """Plain ASGI middleware adding security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
