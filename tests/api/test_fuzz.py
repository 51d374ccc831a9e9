"""Fuzzing with schemathesis: generated operations for every root field of the
schema, sent with a real token of every role. No response may be a server error
(INTERNAL, or a 5xx), and every response must conform to the schema.

Schemathesis (hypothesis-graphql underneath) writes the operations; examples are
drawn first (derandomized here, so CI sees the same ones every run) and then sent
through the in-process ASGI app. `make fuzz` runs many more, randomized:
DIBAO_FUZZ_EXAMPLES per root field and role, DIBAO_FUZZ_RANDOM=1.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.language.visitor import REMOVE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from gateway.runtime import Runtime
from schema.root import build_schema
from store.seed import seed
from tests.authz.conftest import ROLES, SCOPES
from tests.conftest import Api
from tests.helpers import issue_token

EXAMPLES = int(os.environ.get("DIBAO_FUZZ_EXAMPLES", "1"))
RANDOM = os.environ.get("DIBAO_FUZZ_RANDOM") == "1"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
SCHEMA = build_schema()._schema

# the project's custom scalars: mostly valid values, some not (the server must cope)
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(min_value=-10, max_value=10**7, places=2, allow_nan=False).map(str),
        st.sampled_from(["1.005", "-0.01", "1e999", "NaN", "12元", ""]),
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(st.text(max_size=20), st.integers()).map(
        lambda v: nodes.String(v) if isinstance(v, str) else nodes.Int(v)
    ),
)

# files come as multipart parts (tests/api/test_documents.py); a literal where one
# goes must be refused as bad input, never crash
schemathesis.graphql.scalar("Upload", st.text(max_size=20).map(nodes.String))


@cache
def operations() -> list[tuple[str, list[str]]]:
    """(root field, generated documents) for every root field of the schema."""
    loaded = schemathesis.graphql.from_path(str(SCHEMA_FILE))
    drawn = []
    for result in loaded.get_all_operations():
        operation = result.ok()
        drawn.append((operation.label, _draw(operation.as_strategy())))
    return drawn


def _draw(strategy: Any) -> list[str]:
    bodies: list[str] = []

    @given(strategy)
    @settings(
        max_examples=EXAMPLES * len(ROLES),
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def draw(case: Any) -> None:
        bodies.append(case.body if isinstance(case.body, str) else case.body["query"])

    draw()
    return bodies


def prune(document: str, denied: set[str]) -> str | None:
    """The document without the fields the policy refused (None: nothing left to ask)."""

    class Drop(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> Any:
            parent = info.get_parent_type()
            if parent is not None and f"{parent.name}.{node.name.value}" in denied:
                return REMOVE
            return None

    info = TypeInfo(SCHEMA)
    pruned = visit(parse(document), TypeInfoVisitor(info, Drop()))

    class Empty(Visitor):
        def leave_field(self, node: FieldNode, *_: Any) -> Any:
            if node.selection_set is not None and not node.selection_set.selections:
                return REMOVE
            return None

    for _ in range(8):  # fields left without a selection go too, level by level
        pruned = visit(pruned, Empty())
    text = print_ast(pruned)
    return text if "{" in text.split("{", 1)[1] or text.count("{") > 1 else None


def conforms(schema: GraphQLSchema, document: str, body: dict[str, Any]) -> list[str]:
    """Where a response's data disagrees with the schema (empty: it conforms)."""
    problems: list[str] = []
    operation = next(
        d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)
    )
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    assert root is not None
    lenient = bool(body.get("errors"))  # with errors, non-null fields may be nulled upward

    def check(
        value: Any, type_: GraphQLOutputType, sel: SelectionSetNode | None, path: str
    ) -> None:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                if not lenient:
                    problems.append(f"{path}: null for a non-null field")
                return
            type_ = type_.of_type
        if value is None:
            return
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                problems.append(f"{path}: not a list")
                return
            for i, item in enumerate(value):
                check(item, type_.of_type, sel, f"{path}[{i}]")
            return
        if isinstance(type_, GraphQLObjectType):
            if not isinstance(value, dict) or sel is None:
                problems.append(f"{path}: not an object")
                return
            walk(value, type_, sel, path)
            return
        if isinstance(type_, GraphQLEnumType):
            if value not in type_.values:
                problems.append(f"{path}: {value!r} is not a {type_.name}")
            return
        assert isinstance(type_, GraphQLScalarType)
        if not scalar_ok(type_.name, value):
            problems.append(f"{path}: {value!r} is not a {type_.name}")

    def walk(
        data: dict[str, Any], parent: GraphQLObjectType, sel: SelectionSetNode, path: str
    ) -> None:
        for node in sel.selections:
            assert isinstance(node, FieldNode), "the generator writes plain fields here"
            key = node.alias.value if node.alias else node.name.value
            if node.name.value == "__typename":
                if data.get(key) != parent.name:
                    problems.append(f"{path}.{key}: not {parent.name}")
                continue
            if key not in data:
                problems.append(f"{path}.{key}: missing")
                continue
            check(
                data[key], parent.fields[node.name.value].type, node.selection_set, f"{path}.{key}"
            )

    if body.get("data") is not None:
        walk(body["data"], root, operation.selection_set, "data")
    return problems


def scalar_ok(name: str, value: Any) -> bool:
    if name in {"String", "ID"}:
        return isinstance(value, str)
    if name == "Int":
        return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
    if name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "Boolean":
        return isinstance(value, bool)
    if name == "Decimal":
        try:
            return isinstance(value, str) and Decimal(value).is_finite()
        except InvalidOperation:
            return False
    if name == "Date":
        return isinstance(value, str) and _parses(dt.date.fromisoformat, value)
    if name == "DateTime":
        return isinstance(value, str) and _parses(dt.datetime.fromisoformat, value)
    return name == "JSON"


def _parses(parser: Any, value: str) -> bool:
    try:
        parser(value)
    except ValueError:
        return False
    return True


async def test_generated_operations_for_every_role(api: Api, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=30, seed=2)
    tokens = {role: await issue_token(runtime, role, SCOPES[role]) for role in ROLES}
    sent = 0
    answers: Counter[str] = Counter()
    roots_with_data: set[str] = set()
    failures: list[str] = []
    for label, bodies in operations():
        assert bodies, f"no examples for {label}"
        root = label  # "Query.household", "Mutation.submitApplication", ...
        for i, document in enumerate(bodies):
            for turn in range(len(ROLES)):  # the first role (round robin) allowed the root
                role = ROLES[(i + turn) % len(ROLES)]
                response = await api.post(tokens[role], document)
                sent += 1
                refused = (response.json().get("errors") or [{}])[0].get("extensions", {})
                if root not in (refused.get("denied") or ()):
                    break
            for _ in range(3):  # what is left once the refused fields are taken out
                refused = (response.json().get("errors") or [{}])[0].get("extensions", {})
                smaller = (
                    prune(document, set(refused.get("denied") or ()))
                    if response.status_code == 200 and refused.get("code") == "FORBIDDEN"
                    else None
                )
                if smaller is None or smaller == document:
                    break
                document = smaller
                response = await api.post(tokens[role], document)
                sent += 1
            if response.status_code >= 500:
                failures.append(f"{label} as {role}: HTTP {response.status_code}\n{document}")
                continue
            body = response.json()
            codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
            answers[codes[0] if codes else "data"] += 1
            if not codes:
                roots_with_data.add(label)
            if "INTERNAL" in codes or None in codes:
                failures.append(f"{label} as {role}: {codes}\n{document}")
            failures.extend(f"{label} as {role}: {p}" for p in conforms(SCHEMA, document, body))
    print(f"fuzz: {sent} generated operations over {len(operations())} root fields, {answers}")
    assert not failures, "\n\n".join(failures[:10])
    assert sent >= len(operations()) * len(ROLES) * EXAMPLES // 2
    # a fuzz that only ever reached refusals (every token rejected, every input
    # invalid) would pass the checks above while testing nothing past the door
    answered = sum(answers.values())
    assert answers["UNAUTHENTICATED"] == 0, answers
    assert answers["data"] >= answered // 10, f"too few answers carry data: {answers}"
    # generated strings rarely pass the input bounds, so most roots answer BAD_USER_INPUT;
    # still, several must come back with data (derandomized: the same ones each run)
    assert len(roots_with_data) >= 5, sorted(roots_with_data)


@pytest.mark.parametrize(
    ("document", "body", "problem"),
    [
        ("{ households { totalCount } }", {"data": {"households": {"totalCount": "3"}}}, "Int"),
        ("{ standards { area } }", {"data": {"standards": None}}, "non-null"),
        ("{ standards { area } }", {"data": {"standards": [{"area": "SUBURBAN"}]}}, "Area"),
        ("{ households { totalCount } }", {"data": {"households": {}}}, "missing"),
    ],
)
def test_the_conformance_check_can_fail(document: str, body: dict[str, Any], problem: str) -> None:
    found = conforms(SCHEMA, document, body)
    assert found and problem in found[0]
