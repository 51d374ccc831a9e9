"""The pieces both read paths share, held to fixed answers, and broken on purpose.

Comparing the compiled path with the generic one (test_compiled_path.py) cannot see
a bug in a piece they share: the page default and maximum (domain/bounds.py), the
pageInfo builder (schema.connections.page_info) and the table of how each field is read
off its row and serialised (schema/columns.py). These tests state what those pieces must
give; the last ones break the compiled path's use of each on purpose and check that
the comparison sees it, so a copy that drifts from the shared piece is caught.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from graphql import GraphQLObjectType
from strawberry.utils.str_converters import to_camel_case

from domain.bounds import DEFAULT_PAGE, MAX_PAGE
from domain.enums import Area, HouseholdStatus, Relation, Sex
from gateway import compiled
from gateway.runtime import Runtime
from schema.columns import HOUSEHOLD_COLUMNS, HOUSEHOLD_SECRETS, MEMBER_COLUMNS, MEMBER_SECRETS
from schema.connections import PageInfo
from schema.root import build_schema
from schema.types import Household, Member
from store.seed import seed
from tests.api.test_compiled_path import PAGE_SHAPED, Pair
from tests.api.test_compiled_path import pair as pair  # the fixture
from tests.helpers import issue_token

NO_FIRST = "query { households { edges { node { archiveNo } } } }"
EVERY_COLUMN = """query { households(first: 20) { edges { node {
  archiveNo regionCode area status address bankName monthlyBenefit reviewClass appliedAt
  updatedAt bankAccount members { relation sex birthDate monthlyIncome disabilityGrade
  seriousIllness student name idNumber phone } } } } }"""


async def national(runtime: Runtime) -> str:
    return await issue_token(runtime, "county_reviewer", "*", principal="national")


async def test_page_info_says_where_the_page_is(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=20, seed=7)
    token = await national(runtime)
    first, _, was_compiled = await pair.both(token, PAGE_SHAPED, {"first": 6})
    assert was_compiled
    page = first.json()["data"]["list"]
    cursors = [e["c"] for e in page["edges"]]
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": cursors[0],
        "endCursor": cursors[-1],
        "__typename": "PageInfo",
    }
    after = cursors[-1]
    last, _, _ = await pair.both(token, PAGE_SHAPED, {"first": 500, "after": after})
    info = last.json()["data"]["list"]["pageInfo"]
    assert info["hasPreviousPage"] is True and info["hasNextPage"] is False
    empty, _, _ = await pair.both(token, PAGE_SHAPED, {"first": 0})
    info = empty.json()["data"]["list"]["pageInfo"]
    assert info["startCursor"] is None and info["endCursor"] is None


async def test_page_default_and_maximum(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=DEFAULT_PAGE + 10, seed=8)
    token = await national(runtime)
    response, _, was_compiled = await pair.both(token, NO_FIRST)
    assert was_compiled
    assert len(response.json()["data"]["households"]["edges"]) == DEFAULT_PAGE
    too_many, _, _ = await pair.both(token, PAGE_SHAPED, {"first": MAX_PAGE + 1})
    assert f"between 0 and {MAX_PAGE}" in too_many.json()["errors"][0]["message"]


def _wrong_page_info(cursors: list[str], *, has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is None,  # the mistake
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


async def test_a_broken_page_info_on_one_path_shows(
    pair: Pair, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(runtime.engine, runtime.cipher, households=10, seed=9)
    token = await national(runtime)
    monkeypatch.setattr(compiled, "page_info", _wrong_page_info)
    with pytest.raises(AssertionError):
        await pair.both(token, PAGE_SHAPED, {"first": 3})


async def test_a_broken_page_size_on_one_path_shows(
    pair: Pair, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(runtime.engine, runtime.cipher, households=DEFAULT_PAGE + 10, seed=10)
    token = await national(runtime)
    # a page one longer than asked: the default arrives as `first`, from the schema
    monkeypatch.setattr(compiled, "page_size", lambda first: first + 1)
    with pytest.raises(AssertionError):
        await pair.both(token, NO_FIRST)


@pytest.mark.parametrize(
    ("type_", "columns", "secrets", "served"),
    [
        (Household, HOUSEHOLD_COLUMNS, HOUSEHOLD_SECRETS, compiled.HOUSEHOLD_FIELDS),
        (Member, MEMBER_COLUMNS, MEMBER_SECRETS, compiled.MEMBER_FIELDS),
    ],
)
def test_one_table_says_how_each_stored_field_is_read(
    type_: type, columns: dict[str, object], secrets: dict[str, object], served: dict[str, object]
) -> None:
    served_type = build_schema()._schema.type_map[type_.__name__]
    assert isinstance(served_type, GraphQLObjectType)
    fields = [f.extensions["strawberry-definition"] for f in served_type.fields.values()]
    # every field the type holds as a value comes from the table, and nothing else does
    assert {f.python_name for f in fields if f.base_resolver is None} == set(columns)
    assert set(secrets) <= {f.python_name for f in fields if f.base_resolver is not None}
    # the compiled path serves exactly the table's fields, by their GraphQL names
    assert set(served) == {to_camel_case(name) for name in (*columns, *secrets)}


async def test_stored_fields_serialise_as_the_schema_says(pair: Pair, runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=20, seed=11)
    token = await national(runtime)
    response, _, was_compiled = await pair.both(token, EVERY_COLUMN)
    assert was_compiled
    edges = response.json()["data"]["households"]["edges"]
    assert edges
    money = re.compile(r"^-?\d+\.\d{2}$")
    for edge in edges:
        node = edge["node"]
        assert node["area"] in {a.value for a in Area}
        assert node["status"] in {s.value for s in HouseholdStatus}
        assert node["monthlyBenefit"] is None or money.match(node["monthlyBenefit"])
        assert dt.datetime.fromisoformat(node["appliedAt"]).tzinfo is not None
        assert dt.datetime.fromisoformat(node["updatedAt"]).tzinfo is not None
        for member in node["members"]:
            assert member["relation"] in {r.value for r in Relation}
            assert member["sex"] in {s.value for s in Sex}
            assert dt.date.fromisoformat(member["birthDate"]).year > 1900
            assert money.match(member["monthlyIncome"])
            assert isinstance(member["seriousIllness"], bool)
            assert member["idNumber"] and len(member["idNumber"]) == 18
