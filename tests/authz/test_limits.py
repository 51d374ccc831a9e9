"""Query limits, measured before execution, through fragments as well as without."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token


def assert_too_complex(body: dict[str, Any], limit: str) -> None:
    assert body["data"] is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
    assert limit in error["message"]


@pytest.fixture
async def token(runtime: Runtime) -> str:
    return await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)


def aliased(n: int) -> str:
    return " ".join(f"a{i}: archiveNo" for i in range(n))


async def test_aliases_are_limited(api: Api, token: str) -> None:
    ok = await api.gql(
        token, f"{{ households(first: 1) {{ edges {{ node {{ {aliased(15)} }} }} }} }}"
    )
    assert "errors" not in ok
    direct = await api.gql(
        token, f"{{ households(first: 1) {{ edges {{ node {{ {aliased(16)} }} }} }} }}"
    )
    assert_too_complex(direct, "aliases")


async def test_aliases_are_counted_through_fragment_spreads(api: Api, token: str) -> None:
    # 4 aliases in a fragment spread 4 times = 16 aliases, though the text has only 4
    fragment = f"fragment F on Household {{ {aliased(4)} }}"
    spreads = " ".join(f"n{i}: node {{ ...F }}" for i in range(4))
    body = await api.gql(
        token, f"{{ households(first: 1) {{ edges {{ {spreads} }} }} }} {fragment}"
    )
    assert_too_complex(body, "aliases")
    inline = " ".join(f"n{i}: node {{ ... on Household {{ {aliased(4)} }} }}" for i in range(4))
    body = await api.gql(token, f"{{ households(first: 1) {{ edges {{ {inline} }} }} }}")
    assert_too_complex(body, "aliases")


async def test_depth_limit_applies_with_and_without_fragments(
    api: Api, runtime: Runtime, token: str
) -> None:
    runtime.limits = type(runtime.limits)(max_depth=3)
    direct = await api.gql(token, "{ households { edges { node { members { name } } } } }")
    assert_too_complex(direct, "depth")
    via_fragment = await api.gql(
        token,
        "{ households { edges { ...E } } } fragment E on HouseholdEdge { node { members { name } } }",
    )
    assert_too_complex(via_fragment, "depth")
    shallow = await api.gql(token, "{ households { edges { cursor } } }")
    assert "errors" not in shallow


async def test_cost_grows_with_page_size(api: Api, runtime: Runtime, token: str) -> None:
    runtime.limits = type(runtime.limits)(max_cost=2_000)
    query = (
        "query($n: Int!) { households(first: $n) { edges { node { members { name idNumber } } } } }"
    )
    assert "errors" not in await api.gql(token, query, {"n": 10})
    assert_too_complex(await api.gql(token, query, {"n": 500}), "cost")
    fragment = (
        "query($n: Int!) { households(first: $n) { edges { node { ...M } } } } "
        "fragment M on Household { members { name idNumber } }"
    )
    assert_too_complex(await api.gql(token, fragment, {"n": 500}), "cost")


async def test_page_size_is_capped(api: Api, token: str) -> None:
    body = await api.gql(token, "{ households(first: 501) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "first"


async def test_tokens_are_limited(api: Api, token: str) -> None:
    body = await api.gql(token, "{ households { " + "totalCount " * 2100 + "} }")
    assert_too_complex(body, "tokens")
    fragments = "".join(
        f"fragment F{i} on HouseholdConnection {{ totalCount }} " for i in range(300)
    )
    spreads = " ".join(f"...F{i}" for i in range(300))
    assert_too_complex(
        await api.gql(token, f"{{ households {{ {spreads} }} }} {fragments}"), "tokens"
    )


async def test_introspection_is_off_in_production(api: Api, token: str) -> None:
    body = await api.gql(token, "{ __schema { types { name } } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    via_fragment = await api.gql(
        token, '{ ...Q } fragment Q on Query { __type(name: "Member") { name } }'
    )
    assert via_fragment["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    typename = await api.gql(token, "{ __typename }")
    assert typename == {"data": {"__typename": "Query"}}


async def test_introspection_is_on_in_demo(api: Api, runtime: Runtime, token: str) -> None:
    runtime.settings = dataclasses.replace(runtime.settings, demo=True)
    body = await api.gql(token, '{ __type(name: "Member") { fields { name } } }')
    assert "errors" not in body
    assert {"name": "idNumber"} in body["data"]["__type"]["fields"]


async def test_no_field_suggestions(api: Api, token: str) -> None:
    body = await api.gql(token, "{ househol { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in body["errors"][0]["message"]


async def test_batched_requests_are_refused(api: Api, token: str) -> None:
    response = await api.client.post(
        "/graphql",
        json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}],
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert "__typename" not in response.text or "Query" not in response.text
