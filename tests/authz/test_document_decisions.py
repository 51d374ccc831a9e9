"""The decision table of scanned documents (expected_document_decisions.csv) against
the shipped policy: complete for every field of the type, exact per column."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLObjectType

from domain.principal import Principal
from gateway.downloads import CONTENT
from policies.engine import PolicyEngine, default_rules
from schema.root import build_schema
from tests.authz.conftest import COLUMNS, CREDENTIALS, SCOPES
from tests.authz.test_verification_decisions import NAMES

TABLE = Path(__file__).with_name("expected_document_decisions.csv")
ENTRY_POINTS = ("Household.documents", "Mutation.attachDocument", CONTENT)


def table() -> dict[str, dict[str, str]]:
    rows = [
        [cell.strip() for cell in line.split(",")]
        for line in TABLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    header, body = rows[0], rows[1:]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in body}


def test_the_table_covers_every_field_of_the_document_type() -> None:
    type_ = build_schema()._schema.type_map["Document"]
    assert isinstance(type_, GraphQLObjectType)
    fields = [*ENTRY_POINTS, *(f"Document.{field}" for field in type_.fields)]
    assert sorted(table()) == sorted(fields)


def test_the_policy_decides_as_the_table_says() -> None:
    engine = PolicyEngine(default_rules())
    for obj, by_column in table().items():
        assert sorted(by_column) == sorted(COLUMNS), obj
        for column, want in by_column.items():
            scope = "" if SCOPES[column] == "*" else SCOPES[column]
            role, fields = CREDENTIALS.get(column, (column, None))
            listed = frozenset(fields) if fields is not None else None
            principal = Principal("c", column, role, scope, listed)
            got = NAMES[engine.decide(principal, obj, write=obj.startswith("Mutation."))]
            assert got == want, f"{column} {obj}: policy says {got}, table says {want}"
