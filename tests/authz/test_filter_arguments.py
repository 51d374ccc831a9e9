"""Arguments that filter by a field are decided like the field: a caller that may not
read `Household.categories` cannot count households by category either."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType, parse

from gateway.runtime import Runtime
from policies.arguments import FIELD_FILTERS, NOT_FIELD_FILTERS, WRITE_ROOT
from policies.engine import Decision
from policies.limits import Limits
from policies.walk import analyse
from schema.pricing import pricing
from schema.root import build_schema
from tests.authz.conftest import Archive
from tests.conftest import Api
from tests.helpers import issue_token

pytestmark = pytest.mark.both_paths

SCHEMA = build_schema()._schema
COUNT = "query($c: Category) { households(category: $c) { totalCount } }"


def schema_arguments() -> set[tuple[str, str]]:
    return {
        (f"{t.name}.{f}", a)
        for t in SCHEMA.type_map.values()
        if isinstance(t, GraphQLObjectType) and not t.name.startswith("__")
        for f, d in t.fields.items()
        for a in d.args
    }


def test_every_argument_is_decided_as_a_filter_or_declared_not_one() -> None:
    arguments = schema_arguments()
    reads = {(obj, a) for obj, a in arguments if not obj.startswith(WRITE_ROOT)}
    undecided = reads - set(FIELD_FILTERS) - NOT_FIELD_FILTERS
    assert not undecided, f"decide these arguments in policies/arguments.py: {sorted(undecided)}"
    assert not set(FIELD_FILTERS) & NOT_FIELD_FILTERS
    stale = (set(FIELD_FILTERS) | NOT_FIELD_FILTERS) - arguments
    assert not stale, f"no such arguments any more: {sorted(stale)}"
    for field in FIELD_FILTERS.values():
        type_name, name = field.split(".")
        type_ = SCHEMA.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType) and name in type_.fields, field


def assert_forbidden(body: dict[str, Any], field: str) -> None:
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert field in body["errors"][0]["extensions"]["denied"], body


async def test_a_denied_field_cannot_be_used_as_a_filter(
    api: Api, archive: Archive, runtime: Runtime
) -> None:
    listed = await issue_token(
        runtime,
        "partner",
        "22",
        fields=["Query.households", "Household.archiveNo"],
        principal="counter",
    )
    for query, variables, field in (
        ("{ households(category: DISABLED) { totalCount } }", None, "Household.categories"),
        # a filter after an argument that filters nothing
        ("{ households(first: 5, area: RURAL) { totalCount } }", None, "Household.area"),
        (COUNT, {"c": "SERIOUSLY_ILL"}, "Household.categories"),
        (
            "query($c: Category = DISABLED) { households(category: $c) { totalCount } }",
            None,
            "Household.categories",
        ),
        ("{ households(status: [TERMINATED]) { totalCount } }", None, "Household.status"),
        ('{ households(region: "220183100001") { totalCount } }', None, "Household.regionCode"),
        ("{ households(area: RURAL) { totalCount } }", None, "Household.area"),
    ):
        assert_forbidden(await api.gql(listed, query, variables), field)
    # no filter given: nothing to decide beyond the fields read
    for query, variables in ((COUNT, None), (COUNT, {"c": None})):
        body = await api.gql(listed, query, variables)
        assert body == {"data": {"households": {"totalCount": 1}}}, body

    # a finance officer reads status but not categories (the health of members)
    finance = archive.tokens["finance_officer"]
    assert_forbidden(await api.gql(finance, COUNT, {"c": "DISABLED"}), "Household.categories")
    ok = await api.gql(finance, "{ households(status: [SUBMITTED]) { totalCount } }")
    assert ok == {"data": {"households": {"totalCount": 1}}}, ok
    # whoever reads the field may filter by it
    reviewer = await api.gql(archive.tokens["county_reviewer"], COUNT, {"c": "MINOR"})
    assert reviewer == {"data": {"households": {"totalCount": 1}}}, reviewer


STATS = """query($r: String) { statistics(period: "2026-10", region: $r) {
  byStatus { status householdsLabel } byCategory { category householdsLabel } } }"""
STATS_FIELDS = [
    "Query.statistics",
    "Statistics.byStatus",
    "Statistics.byCategory",
    "StatusCount.status",
    "StatusCount.householdsLabel",
    "CategoryCount.category",
    "CategoryCount.householdsLabel",
]


async def test_counts_for_aggregate_readers_are_small_cell_suppressed(
    api: Api, archive: Archive, runtime: Runtime
) -> None:
    partner = await issue_token(runtime, "partner", "22", fields=STATS_FIELDS, principal="stats")
    exact = await api.gql(archive.tokens["supervisor"], STATS)
    suppressed = await api.gql(partner, STATS)
    assert "errors" not in exact and "errors" not in suppressed, (exact, suppressed)
    submitted = [c for c in exact["data"]["statistics"]["byStatus"] if c["status"] == "SUBMITTED"]
    assert submitted and all(c["householdsLabel"] == "1" for c in submitted)
    for counts in suppressed["data"]["statistics"].values():
        assert counts and all(c["householdsLabel"] == "<5" for c in counts), counts
    # the exact count is not theirs to read, nor a per-village filter without regionCode
    assert_forbidden(
        await api.gql(partner, '{ statistics(period: "2026-10") { byStatus { households } } }'),
        "StatusCount.households",
    )
    assert_forbidden(await api.gql(partner, STATS, {"r": "220183100001"}), "Household.regionCode")


def test_a_masked_field_cannot_be_used_as_a_filter_either() -> None:
    """A filter by a field the caller reads masked is an oracle too: the count answers
    what the mask hides. No filter field has a masked form in the shipped policy (the
    engine masks only fields with a masker), so this asks the walk directly, with a
    policy that masks one: the refusal must name it as it names a denied one."""
    served = build_schema()

    def decide(obj: str, write: bool) -> Decision:
        return Decision.MASKED if obj == "Household.categories" else Decision.CLEAR

    for query in (
        "{ households(category: DISABLED) { totalCount } }",
        "{ households(first: 5, category: MINOR) { totalCount } }",
    ):
        analysis = analyse(
            served._schema,
            parse(query),
            operation_name=None,
            variables=None,
            decide=decide,
            limits=Limits(),
            pricing=pricing(served),
        )
        assert analysis.denied == ["Household.categories"], query
    unfiltered = analyse(
        served._schema,
        parse("{ households(first: 5) { totalCount } }"),
        operation_name=None,
        variables=None,
        decide=decide,
        limits=Limits(),
        pricing=pricing(served),
    )
    assert unfiltered.denied == []
