"""The gateway's request context: the schema's (resolvers' and DataLoaders) plus the gate.

Resolvers never see the gate (resolvers/context.py knows nothing above it); the
gateway's extensions and the compiled path reach it here.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.policy_gate import RequestGate
from schema.context import GraphContext


@dataclass(kw_only=True)
class RequestContext(GraphContext):
    gate: RequestGate

    def charge_lookups(self, count: int) -> Exception | None:
        charge = self.gate.charge_lookups
        return charge(count) if charge is not None else None
