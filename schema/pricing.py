"""Query-cost figures, declared on the fields they price and read off the built schema.

A field declares its figures in its metadata: `strawberry.field(metadata=priced(
bound=bounds.MEMBERS))` for a list (PAGE for a connection's edges, sized by its
`first`), `priced(cost=SCAN)` for a field that aggregates over a scope, `cost=0`
for a root field or count that reads by key or by page (priced by its lists'
bounds). The gateway reads them once, at start (`pricing(schema)`), and hands the
table to the policy walk (policies/bounds.py has the model, policies/walk.py
prices by it).
"""

from __future__ import annotations

from typing import Any, Final

import strawberry
from graphql import GraphQLObjectType

from policies.bounds import Bound, Pricing

BOUND: Final = "dibao.bound"
COST: Final = "dibao.cost"


def priced(*, bound: Bound | None = None, cost: int | None = None) -> dict[str, Any]:
    """A field's metadata declaring how many items it can return and what it costs."""
    declared: dict[str, Any] = {}
    if bound is not None:
        declared[BOUND] = bound
    if cost is not None:
        declared[COST] = cost
    return declared


def pricing(schema: strawberry.Schema) -> Pricing:
    """Every declared figure of the schema, by `Type.field`."""
    bounds: dict[str, Bound] = {}
    costs: dict[str, int] = {}
    for type_name, named in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(named, GraphQLObjectType):
            continue
        for field_name, definition in named.fields.items():
            declared = definition.extensions.get("strawberry-definition")
            metadata = getattr(declared, "metadata", None) or {}
            obj = f"{type_name}.{field_name}"
            if BOUND in metadata:
                bounds[obj] = metadata[BOUND]
            if COST in metadata:
                costs[obj] = metadata[COST]
    return Pricing(bounds=bounds, costs=costs)
