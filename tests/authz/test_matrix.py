"""Every role x every field of Household, Member, Review, Payment x in/out of scope.

Each cell of tests/authz/expected_decisions.csv is checked twice: against the
policy engine, and through the public API on a record inside and outside the
caller's region scope.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType

from domain.principal import Principal
from gateway.runtime import Runtime
from policies.engine import Decision
from policies.masking import MASKERS
from schema.root import build_schema
from tests.authz.conftest import (
    BANK,
    COLUMNS,
    CREDENTIALS,
    ROLES,
    SCOPES,
    Archive,
    expected_decisions,
)
from tests.conftest import Api
from tests.helpers import URBAN_VILLAGE

# the authorization and masking answers must not depend on the execution path
pytestmark = pytest.mark.both_paths

ARCHIVE_TYPES = ("Household", "Member", "Review", "Payment")
PARENT_FIELD = {"Member": "members", "Review": "reviews", "Payment": "payments"}
SCHEMA = build_schema()._schema
NAMES = {Decision.CLEAR: "clear", Decision.MASKED: "masked", Decision.DENIED: "denied"}


def archive_fields() -> list[str]:
    fields = []
    for type_name in ARCHIVE_TYPES:
        type_ = SCHEMA.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType)
        fields.extend(f"{type_name}.{name}" for name in type_.fields)
    return fields


def is_object(obj: str) -> bool:
    type_name, field = obj.split(".")
    parent = SCHEMA.type_map[type_name]
    assert isinstance(parent, GraphQLObjectType)
    t = parent.fields[field].type
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return isinstance(t, GraphQLObjectType)


def query_for(obj: str) -> str:
    type_name, field = obj.split(".")
    leaf = f"{field} {{ __typename }}" if is_object(obj) else field
    inner = leaf if type_name == "Household" else f"{PARENT_FIELD[type_name]} {{ {leaf} }}"
    return f"query($a: String!) {{ household(archiveNo: $a) {{ {inner} }} }}"


def pick(data: dict[str, Any], obj: str) -> Any:
    type_name, field = obj.split(".")
    household = data["household"]
    if type_name == "Household":
        return household[field]
    return household[PARENT_FIELD[type_name]][0][field]


def test_table_covers_every_archive_field_and_matches_the_policy(runtime: Runtime) -> None:
    expected = expected_decisions()
    assert sorted(expected) == sorted(archive_fields()), "expected_decisions.csv is not complete"
    engine = runtime.policy_engine
    for obj, by_role in expected.items():
        assert sorted(by_role) == sorted(COLUMNS)
        for column, want in by_role.items():
            scope = "" if SCOPES[column] == "*" else SCOPES[column]
            role, fields = CREDENTIALS.get(column, (column, None))
            listed = frozenset(fields) if fields is not None else None
            got = NAMES[engine.decide(Principal("c", "p", role, scope, listed), obj)]
            role = column
            assert got == want, f"{role} {obj}: policy says {got}, table says {want}"


def test_spec_rows_are_exactly_as_the_spec_fixes_them() -> None:
    spec = {
        "Member.idNumber": "clear clear masked masked denied denied denied denied",
        "Member.name": "clear clear clear masked denied denied denied denied",
        "Member.phone": "clear clear denied masked denied denied denied denied",
        "Member.monthlyIncome": "clear clear denied clear denied denied denied denied",
        "Household.bankAccount": "masked masked clear denied denied denied denied denied",
        "Payment.amount": "clear clear clear clear denied denied denied denied",
    }
    expected = expected_decisions()
    for obj, row in spec.items():
        assert [expected[obj][r] for r in ROLES] == row.split(), obj


def seeded_values(archive: Archive) -> dict[str, Any]:
    """The plaintext the archive fixture submitted (its head member and its payment)."""
    return {
        "Household.archiveNo": archive.inside,
        "Household.regionCode": URBAN_VILLAGE,
        "Household.address": "幸福路 12 号",
        "Household.bankName": "农村信用社",
        "Household.bankAccount": BANK,
        "Member.name": archive.head_name,
        "Member.idNumber": archive.head_id,
        "Member.phone": archive.head_phone,
        "Member.monthlyIncome": "300.00",
        "Member.relation": "HEAD",
        "Member.birthDate": "1970-05-17",
        "Member.student": False,
        "Member.seriousIllness": False,
        "Member.disabilityGrade": None,
        "Payment.period": "2026-10",
        "Payment.amount": "812.50",
        "Payment.status": "DISBURSED",
        "Payment.bankReference": "REF-0001",
        "Payment.bankAccount": BANK,
    }


@pytest.mark.parametrize("role", COLUMNS)
async def test_every_field_through_the_api(api: Api, archive: Archive, role: str) -> None:
    expected = expected_decisions()
    truth_token = archive.tokens["county_reviewer"]
    for obj in archive_fields():
        decision = expected[obj][role]
        query = query_for(obj)
        inside = await api.gql(archive.tokens[role], query, {"a": archive.inside})
        outside = await api.gql(archive.tokens[role], query, {"a": archive.outside})
        path_denied = any(
            expected.get(step, {}).get(role) == "denied"
            for step in ("Household." + PARENT_FIELD.get(obj.split(".")[0], "archiveNo"),)
        )
        if decision == "denied" or path_denied:
            for body in (inside, outside):
                assert body["data"] is None, (role, obj, body)
                error = body["errors"][0]
                assert error["extensions"]["code"] == "FORBIDDEN", (role, obj)
                assert obj in error["extensions"]["denied"], (role, obj)
            continue
        assert "errors" not in inside, (role, obj, inside)
        assert outside == {"data": {"household": None}}, (role, obj)  # as if it did not exist
        value = pick(inside["data"], obj)
        seeded = seeded_values(archive)
        if obj in seeded:  # what the test itself wrote, not another role's answer
            truth = seeded[obj]
        else:  # derived fields (timestamps, counts, typenames) have no seeded plaintext
            assert obj not in MASKERS, f"{obj} has a mask: its truth must be seeded"
            truth = pick((await api.gql(truth_token, query, {"a": archive.inside}))["data"], obj)
        if decision == "masked":
            assert value == MASKERS[obj](truth), (role, obj, value)
            assert value != truth
        else:
            assert value == truth, (role, obj, value)


async def test_masked_values_follow_the_spec_formats(api: Api, archive: Archive) -> None:
    query = "query($a: String!) { household(archiveNo: $a) { bankAccount members { name idNumber phone } } }"
    supervisor = await api.gql(
        archive.tokens["supervisor"],
        query.replace("bankAccount ", ""),
        {"a": archive.inside},
    )
    head = supervisor["data"]["household"]["members"][0]
    assert head["name"] == "欧阳**"
    assert head["idNumber"] == archive.head_id[:6] + "********" + archive.head_id[-4:]
    assert head["phone"] == archive.head_phone[:3] + "****" + archive.head_phone[-4:]
    reviewer = await api.gql(archive.tokens["county_reviewer"], query, {"a": archive.inside})
    assert reviewer["data"]["household"]["bankAccount"] == "*" * (len(BANK) - 4) + BANK[-4:]
    assert reviewer["data"]["household"]["members"][0]["name"] == archive.head_name


def test_no_role_can_rebuild_a_masked_id_number() -> None:
    """A masked ID number hides exactly the birth date; the two must never meet in clear."""
    expected = expected_decisions()
    for role in ROLES:
        if expected["Member.idNumber"][role] == "masked":
            assert expected["Member.birthDate"][role] != "clear", role
