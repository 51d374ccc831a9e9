"""The benchmark's baseline: the same resolvers and DataLoaders, nothing in front.

A bare `strawberry.asgi.GraphQL` app on uvicorn over `build_schema()`,
with a national-scope principal, the project's engine, sessions and cipher
(`Runtime.from_settings`, untraced) and the resolvers' own context: no
authentication, policy, masking, audit or tracing. A mutation's
transaction is committed after execution (the gateway commits it with the audit
entry), so a write costs the same writes minus the audit entry.

    DIBAO_DATABASE_URL=... DIBAO_KEY_FILE=... python bench/baseline_app.py --port P
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvicorn
from strawberry.asgi import GraphQL

from domain.principal import Principal
from gateway import policy_sync
from gateway.config import load_settings
from gateway.runtime import Runtime
from policies.engine import PolicyEngine
from schema.context import GraphContext as Context
from schema.root import build_schema

PRINCIPAL = Principal(credential_id="bench", name="bench", role="county_reviewer", scope="")


class Baseline(GraphQL[Context, None]):
    def __init__(self, runtime: Runtime, policy: PolicyEngine) -> None:
        super().__init__(build_schema(), graphql_ide=None, allow_queries_via_get=False)
        self.runtime = runtime
        self.policy = policy

    def new_context(self) -> Context:
        rt = self.runtime
        return Context(
            principal=PRINCIPAL,
            sessions=rt.sessions,
            cipher=rt.cipher,
            now=rt.clock(),
            settings=rt.settings,
        )

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        ctx = self.new_context()
        try:
            response = await super().run(request, context=ctx)
            if ctx.transaction is not None:
                await ctx.transaction.commit()
            return response
        finally:
            await ctx.close()


async def main(host: str, port: int) -> None:
    runtime = Runtime.from_settings(load_settings())
    policy = await policy_sync.load_engine(runtime.sessions)  # loaded once, never consulted
    config = uvicorn.Config(
        Baseline(runtime, policy), host=host, port=port, log_level="warning", access_log=False
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await runtime.engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    asyncio.run(main(args.host, args.port))
