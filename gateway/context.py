"""The gateway's request context: the schema's (resolvers' and DataLoaders) plus the gate.

Resolvers never see the gate (resolvers/context.py knows nothing above it); the
gateway's extensions and the compiled path reach it here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.principal import Principal
from gateway.policy_gate import RequestGate
from policies.engine import Decision, PolicyEngine
from policies.masking import MASKERS
from schema.context import GraphContext


@dataclass(kw_only=True)
class RequestContext(GraphContext):
    gate: RequestGate

    def charge_lookups(self, count: int) -> Exception | None:
        charge = self.gate.charge_lookups
        return charge(count) if charge is not None else None

    def may_run(self, obj: str) -> bool:
        return self.gate.decide(obj, True) is Decision.WRITE

    def column(self, obj: str) -> Callable[[str], str] | None:
        return column_reader(self.gate.decide(obj, False), obj)

    def column_decision(self, obj: str) -> str:
        return self.gate.decide(obj, False).value


def column_reader(decision: Decision, obj: str) -> Callable[[str], str] | None:
    """A file's column as a decision reads it: clear, masked as the field it copies
    (policies/masking.py), or None: left out of the file."""
    if decision is Decision.CLEAR:
        return _clear
    if decision is Decision.MASKED:
        masker = MASKERS[obj]
        return lambda value: masker(value) or ""
    return None


def _clear(value: str) -> str:
    return value


@dataclass(frozen=True, slots=True)
class PolicyAccess:
    """The same answers for a caller outside a request (`dibao export`)."""

    engine: PolicyEngine
    principal: Principal

    def may_run(self, obj: str) -> bool:
        return self.engine.decide(self.principal, obj, write=True) is Decision.WRITE

    def column(self, obj: str) -> Callable[[str], str] | None:
        return column_reader(self.engine.decide(self.principal, obj), obj)

    def column_decision(self, obj: str) -> str:
        return self.engine.decide(self.principal, obj).value
