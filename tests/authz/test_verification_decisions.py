"""The decision table of the verification types (expected_verification_decisions.csv)
against the shipped policy: complete for every field of the types, exact per column."""

from __future__ import annotations

from pathlib import Path

from graphql import GraphQLObjectType

from domain.principal import Principal
from policies.engine import Decision, PolicyEngine, default_rules
from schema.root import build_schema
from tests.authz.conftest import COLUMNS, CREDENTIALS, SCOPES

TABLE = Path(__file__).with_name("expected_verification_decisions.csv")
TYPES = (
    "VerificationRequest",
    "VerificationSubject",
    "HouseholdVerification",
    "VerificationFinding",
    "VerificationDiscrepancy",
    "VerificationActivity",
)
ENTRY_POINTS = (
    "Query.verificationRequests",
    "Household.verifications",
    "Mutation.requestVerification",
    "Mutation.answerVerification",
    "Mutation.answerVerifications",
    "Mutation.overrideVerification",
    "Query.verificationActivity",
)
NAMES = {
    Decision.CLEAR: "clear",
    Decision.MASKED: "masked",
    Decision.DENIED: "denied",
    Decision.WRITE: "write",
}


def table() -> dict[str, dict[str, str]]:
    rows = [
        [cell.strip() for cell in line.split(",")]
        for line in TABLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    header, body = rows[0], rows[1:]
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in body}


def test_the_table_covers_every_field_of_the_verification_types() -> None:
    schema = build_schema()._schema
    fields = list(ENTRY_POINTS)
    for name in TYPES:
        type_ = schema.type_map[name]
        assert isinstance(type_, GraphQLObjectType)
        fields.extend(f"{name}.{field}" for field in type_.fields)
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


def test_no_partner_reads_the_archive_through_verification() -> None:
    """A partner's default reads are the queue and its subjects, nothing of a household."""
    engine = PolicyEngine(default_rules())
    partner = Principal("c", "partner", "partner", "22", None, department="TAX")
    for obj in ("Query.household", "Query.households", "Household.verifications"):
        assert engine.decide(partner, obj) is Decision.DENIED, obj
