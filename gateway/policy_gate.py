"""The policy gate: the policy walk (policies/walk.py) hooked into execution.

`PolicyGate` runs the walk in `on_execute`, before any resolver, refuses what it
must and masks the result after; `RequestGate` is the gate's per-request state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema
from graphql import ExecutionResult as GraphQLExecutionResult
from opentelemetry import trace
from strawberry.extensions import SchemaExtension

from audit import fields as F
from domain.principal import Principal
from policies.bounds import Pricing
from policies.engine import Decision, PolicyEngine
from policies.errors import GateError
from policies.limits import Limits
from policies.walk import INTROSPECTION_OBJECT, Analysis, Charge, analyse, apply_masks, limit_error


class PolicyGate(SchemaExtension):
    """Runs the walk in `on_execute`, before any resolver, and masks after."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        gate: RequestGate = ctx.context.gate
        assert ctx.graphql_document is not None
        try:
            analysis, refusal = gate.admit(
                ctx.schema._schema,
                ctx.graphql_document,
                operation_name=ctx.operation_name,
                variables=ctx.variables,
            )
        except GateError as error:
            ctx.result = GraphQLExecutionResult(data=None, errors=[error])
            yield
            return
        gate.analysis = analysis
        if refusal is not None:
            ctx.result = GraphQLExecutionResult(data=None, errors=[refusal])
            yield
            return
        yield
        result = ctx.result
        if analysis.plan and isinstance(result, GraphQLExecutionResult) and result.data:
            apply_masks(result.data, analysis.plan)


@dataclass
class RequestGate:
    """The gate's per-request state: who asks, and what the walk decided."""

    principal: Principal
    engine: PolicyEngine
    limits: Limits
    pricing: Pricing  # the schema's declared costs and list bounds (schema/pricing.py)
    introspection_allowed: bool
    # the generic executor's parse, validate and execute spans (gateway/tracing.py)
    tracer: trace.Tracer | None = None
    # the request's span: the walk's findings are said on it (no span of the walk's own)
    span: trace.Span = trace.INVALID_SPAN
    analysis: Analysis | None = None
    charge: Charge | None = None
    # charges answers about full ID numbers found while resolving (claims checked by a
    # mutation) against the same lookup quota; None when they fit and are counted
    charge_lookups: Callable[[int], GateError | None] | None = None
    _memo: dict[tuple[str, bool], Decision] = field(default_factory=dict)
    _settled: tuple[GateError | None] | None = None

    def decide(self, obj: str, write: bool) -> Decision:
        key = (obj, write)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self.engine.decide(self.principal, obj, write=write)
        return found

    def admit(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        *,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> tuple[Analysis, GateError | None]:
        """The policy walk of one operation, traced: what it found, and the refusal if
        any (the cost limit, a denied field, introspection, the charge). Raises
        GateError when the walk itself refuses the operation. Both read paths ask
        here, so they decide, limit and charge alike."""
        span = self.span
        span.set_attribute(F.ATTR_ROLE, self.principal.role)
        analysis = analyse(
            schema,
            document,
            operation_name=operation_name,
            variables=variables,
            decide=self.decide,
            limits=self.limits,
            pricing=self.pricing,
        )
        refusal = (
            limit_error(analysis, self.limits) or self.refusal(analysis) or self.settle(analysis)
        )
        if span.is_recording():  # an unsampled request skips sorting the masked fields
            span.set_attribute(F.ATTR_DECISIONS, len(analysis.decisions))
            span.set_attribute(F.ATTR_DENIED, analysis.denied)
            span.set_attribute(
                F.ATTR_MASKED,
                sorted(k for k, v in analysis.decisions.items() if v is Decision.MASKED),
            )
        return analysis, refusal

    def settle(self, analysis: Analysis) -> GateError | None:
        """Charge the operation's calls once per request, whichever path asks first.

        The compiled path walks the same document and may hand the request to the
        generic path, which walks it again: the second walk sees the first charge.
        """
        if self._settled is None:
            self._settled = (self.charge(analysis) if self.charge is not None else None,)
        return self._settled[0]

    def refusal(self, analysis: Analysis) -> GateError | None:
        if analysis.introspection and not (
            self.introspection_allowed
            or self.engine.decide(self.principal, INTROSPECTION_OBJECT) is Decision.CLEAR
        ):
            return GateError("Introspection is not allowed for this credential.", "FORBIDDEN")
        denied = analysis.denied
        if denied:
            return GateError(
                "Not allowed for this credential: " + ", ".join(denied) + ".",
                "FORBIDDEN",
                denied=denied,
            )
        return None
