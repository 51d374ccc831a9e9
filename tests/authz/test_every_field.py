"""Every field of the schema resolves only through the policy gate.

The walk below reaches every field of every object type from the roots and asks
with a credential whose field list is empty (it may read nothing): each field
must come back named in a FORBIDDEN error, proving it went through a decision. A schema with a field
no policy names shows that new fields start denied, not open.
"""

from __future__ import annotations

import datetime as dt
from collections import deque

import pytest
import strawberry
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema

from domain.principal import Principal
from gateway.policy_gate import PolicyGate, RequestGate
from gateway.runtime import Runtime
from policies.bounds import Pricing
from policies.engine import Decision, is_plumbing
from policies.limits import Limits
from schema.root import build_schema
from tests.conftest import Api
from tests.helpers import issue_token

# the authorization and masking answers must not depend on the execution path
pytestmark = pytest.mark.both_paths

SCHEMA = build_schema()._schema


def _named(t: object) -> object:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def paths(schema: GraphQLSchema) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """For each object type: (root operation, the fields leading to it)."""
    found: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    queue: deque[tuple[GraphQLObjectType, str, list[tuple[str, str]]]] = deque()
    for op, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        found[root.name] = (op, [])
        queue.append((root, op, []))
    while queue:
        type_, op, path = queue.popleft()
        for name, field in type_.fields.items():
            inner = _named(field.type)
            if isinstance(inner, GraphQLObjectType) and inner.name not in found:
                found[inner.name] = (op, [*path, (type_.name, name)])
                queue.append((inner, op, found[inner.name][1]))
    return found


def document_for(schema: GraphQLSchema, type_name: str, field: str) -> str:
    op, path = paths(schema)[type_name]
    variables: list[str] = []

    def call(parent: str, name: str) -> str:
        parent_type = schema.type_map[parent]
        assert isinstance(parent_type, GraphQLObjectType)
        args = []
        for arg_name, arg in parent_type.fields[name].args.items():
            if isinstance(arg.type, GraphQLNonNull):
                var = f"v{len(variables)}"
                variables.append(f"${var}: {arg.type}")
                args.append(f"{arg_name}: ${var}")
        return name + (f"({', '.join(args)})" if args else "")

    leaf = call(type_name, field)
    target = schema.type_map[type_name]
    assert isinstance(target, GraphQLObjectType)
    if isinstance(_named(target.fields[field].type), GraphQLObjectType):
        leaf += " { __typename }"
    body = leaf
    for parent, name in reversed(path):
        body = f"{call(parent, name)} {{ {body} }}"
    header = f"({', '.join(variables)})" if variables else ""
    return f"{op} Probe{header} {{ {body} }}"


def all_fields(schema: GraphQLSchema) -> list[tuple[str, str]]:
    return [
        (t.name, f)
        for t in schema.type_map.values()
        if isinstance(t, GraphQLObjectType) and not t.name.startswith("__")
        for f in t.fields
    ]


async def test_every_schema_field_goes_through_a_decision(api: Api, runtime: Runtime) -> None:
    token = await issue_token(runtime, "partner", "*", fields=[])
    fields = all_fields(SCHEMA)
    assert len(fields) > 60
    for type_name, field in fields:
        body = await api.gql(token, document_for(SCHEMA, type_name, field))
        assert body["data"] is None, (type_name, field, body)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN", (type_name, field, body)
        if is_plumbing(f"{type_name}.{field}"):
            # never named on a list: the policy alone decides it, and the entry
            # point above it (which a list must name) is what refuses here
            assert error["extensions"]["denied"], (type_name, field)
            continue
        assert f"{type_name}.{field}" in error["extensions"]["denied"], (type_name, field)


def test_plumbing_is_exempt_from_the_list_not_from_the_policy(runtime: Runtime) -> None:
    engine = runtime.policy_engine
    listed = Principal("c", "p", "partner", "22", frozenset({"Query.households"}))
    assert engine.decide(listed, "HouseholdConnection.edges") is Decision.CLEAR
    assert engine.decide(listed, "PageInfo.endCursor") is Decision.CLEAR
    assert engine.decide(listed, "Household.status") is Decision.DENIED  # data: must be listed
    no_grant = Principal("c", "p", "finance_officer", "220183", frozenset())
    assert engine.decide(no_grant, "AuditEventConnection.edges") is Decision.DENIED


async def test_a_field_no_policy_names_is_denied(runtime: Runtime) -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def brand_new_field(self) -> str:
            return "must never be served"

        @strawberry.field
        def household(self) -> str:  # same name as a real, allowed root field
            return "ok"

    schema = strawberry.Schema(query=Query, extensions=[PolicyGate])

    class Ctx:
        gate = RequestGate(
            principal=Principal("c", "p", "caseworker", "220183100"),
            engine=runtime.policy_engine,
            limits=Limits(),
            pricing=Pricing(),
            introspection_allowed=False,
        )
        now = dt.datetime.now(dt.UTC)

    denied = await schema.execute("{ brandNewField household }", context_value=Ctx())
    assert denied.data is None
    assert denied.errors is not None
    assert denied.errors[0].extensions == {"code": "FORBIDDEN", "denied": ["Query.brandNewField"]}
    allowed = await schema.execute("{ household }", context_value=Ctx())
    assert allowed.errors is None
    assert allowed.data == {"household": "ok"}
