"""Query limits, measured before execution, through fragments as well as without."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    parse,
)
from graphql.language import Lexer

from gateway import compiled, document_limits, documents
from gateway.quota import LookupQuotas, Quota
from gateway.ratelimit import Rate
from gateway.runtime import Runtime
from policies.bounds import PAGE
from policies.limits import Exceeded, Limits, document_refusal
from schema.pricing import pricing
from schema.root import build_schema
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, id_number, issue_token


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
    # tokens alone: a repeated field would be refused for its repeats first
    values = ", ".join(["1"] * 2100)
    body = await api.gql(token, f"query($v: [Int] = [{values}]) {{ __typename }}")
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


# Fail on the commit issue 12 was written against: limits measured on the parsed
# document before validation, the validation cache keyed on tokens, real list
# bounds, variable defaults priced.

# the document STACK-NOTES measured: seconds inside validate(), under the token limit
HUGE_ALIASES = "{ " + "a:__typename a:credentials " * 330 + "}"


class ValidateCalls:
    """Counts graphql-core validations on both read paths."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        for module in (strawberry_schema, compiled):
            original = module.validate

            def counted(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self.calls += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(module, "validate", counted)


async def test_typename_aliases_count_through_fragments(api: Api, token: str) -> None:
    fragment = "fragment T on Query { " + " ".join(f"t{i}: __typename" for i in range(4)) + " }"
    body = await api.gql(token, "{ ...T ...T ...T ...T __typename } " + fragment)
    assert_too_complex(body, "aliases")
    assert body["errors"][0]["extensions"]["limit"] == "aliases"


async def test_huge_alias_document_is_refused_before_validation(
    api: Api, runtime: Runtime, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    validations = ValidateCalls(monkeypatch)
    before = len(await entries(runtime))
    body = await api.gql(token, HUGE_ALIASES)
    assert_too_complex(body, "aliases")
    assert validations.calls == 0, "an over-limit document must not be validated"
    audited = await entries(runtime)
    assert len(audited) == before + 1
    assert audited[-1]["error_codes"] == ["QUERY_TOO_COMPLEX"]


async def test_repeated_fields_and_fragment_fan_out_are_refused_before_validation(
    api: Api, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    validations = ValidateCalls(monkeypatch)
    repeated = "{ " + "households { totalCount } " * 40 + "}"
    assert_too_complex(await api.gql(token, repeated), "duplicates")
    # each fragment spreads the next ten times: 10^4 fields from a short text
    fan = " ".join(
        f"fragment F{i} on HouseholdConnection {{ " + f"...F{i + 1} " * 10 + "}" for i in range(4)
    )
    body = await api.gql(
        token,
        f"{{ households {{ ...F0 }} }} {fan} fragment F4 on HouseholdConnection {{ totalCount }}",
    )
    assert_too_complex(body, "duplicates")
    assert validations.calls == 0, "over-limit documents must not be validated"
    # a cycle is skipped by the count and reported by validation
    cycle = "{ households { ...A } } fragment A on HouseholdConnection { totalCount ...A }"
    assert (await api.gql(token, cycle))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_comments_do_not_defeat_the_validation_cache(
    api: Api, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    validations = ValidateCalls(monkeypatch)
    for query in (
        "{ households(first: 1) { totalCount edges { cursor } } }",  # the compiled path
        "{ ...Q } fragment Q on Query { __typename }",  # the generic path
    ):
        assert "errors" not in await api.gql(token, query)
        start = validations.calls
        assert start > 0
        for i in range(3):
            body = await api.gql(token, f"# request {i}\n{query}\n" + " ," * i)
            assert "errors" not in body, body
        assert validations.calls == start, f"validated again for a new comment: {query}"


async def test_nested_lists_are_priced_by_their_bound(api: Api, token: str) -> None:
    # a household's payments run to one a month for years: not "ten"
    query = "{ households(first: 300) { edges { node { payments { period amount status } } } } }"
    assert_too_complex(await api.gql(token, query), "cost")
    small = "{ households(first: 10) { edges { node { payments { period amount status } } } } }"
    assert "errors" not in await api.gql(token, small)


async def test_variable_defaults_are_priced_at_the_value_used(
    api: Api, runtime: Runtime, token: str
) -> None:
    runtime.limits = type(runtime.limits)(max_cost=10_000)
    query = "query($n: Int = 500) { households(first: $n) { edges { node { members { name } } } } }"
    assert_too_complex(await api.gql(token, query), "cost")
    assert "errors" not in await api.gql(token, query, {"n": 5})


def _fields(schema: GraphQLSchema) -> Iterator[tuple[str, GraphQLField]]:
    for type_name, named in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(named, GraphQLObjectType):
            continue
        for field_name, definition in named.fields.items():
            yield f"{type_name}.{field_name}", definition


def _unwrapped(output: GraphQLOutputType) -> GraphQLOutputType:
    while isinstance(output, GraphQLNonNull):
        output = output.of_type
    return output


def test_every_list_field_has_a_declared_bound() -> None:
    # the figures are declared on the fields (schema/pricing.py) and read off the schema
    served = build_schema()
    schema = served._schema
    declared = pricing(served).bounds
    lists = {obj for obj, f in _fields(schema) if isinstance(_unwrapped(f.type), GraphQLList)}
    missing = sorted(lists - set(declared))
    assert not missing, f"lists without a declared bound (metadata=priced(bound=...)): {missing}"
    assert not set(declared) - lists, "bounds declared on fields that are not lists"
    # a field that takes `first` answers a connection whose edges are sized by it
    paged = [(obj, f) for obj, f in _fields(schema) if "first" in f.args]
    assert paged
    for obj, definition in paged:
        connection = _unwrapped(definition.type)
        assert isinstance(connection, GraphQLObjectType), obj
        assert declared.get(f"{connection.name}.edges") == PAGE, obj
    # and only such edges are: every other list has a number
    for obj, bound in declared.items():
        if bound == PAGE:
            assert obj.endswith(".edges"), obj
    # an audit entry names each Type.field a request touched at most once
    every_field = sum(1 for _ in _fields(schema))
    bound = declared["AuditEvent.fields"]
    assert isinstance(bound, int) and every_field < bound, every_field


STATISTICS = (
    "{ "
    + " ".join(
        f's{i}: statistics(period: "2026-10") {{ byStatus {{ households }} '
        "byCategory { households } }"
        for i in range(15)
    )
    + " }"
)


async def test_one_scope_aggregate_per_document(api: Api, runtime: Runtime) -> None:
    # each statistics call scans the whole scope: priced as such, not as one field
    supervisor = await issue_token(runtime, "supervisor", "22")
    one = STATISTICS.split(" s1:")[0] + " }"
    assert "errors" not in await api.gql(supervisor, one)
    two = STATISTICS.split(" s2:")[0] + " }"
    assert_too_complex(await api.gql(supervisor, two), "cost")
    assert_too_complex(await api.gql(supervisor, STATISTICS), "cost")
    # two different aggregates are two scans as well
    auditor = await issue_token(runtime, "auditor", "*")
    both = (
        '{ auditChain { entries } lookupAlerts(since: "2026-01-01T00:00:00Z", '
        'until: "2026-01-02T00:00:00Z") { principal } }'
    )
    assert_too_complex(await api.gql(auditor, both), "cost")


def test_every_root_field_and_count_has_a_declared_cost() -> None:
    # a new root field, or a new totalCount, is priced on purpose: an aggregate over
    # a scope at its scan price, a read by key or by page at 0 (its lists' bounds)
    served = build_schema()
    schema = served._schema
    costs = pricing(served).costs
    assert schema.query_type is not None
    priced = {f"Query.{name}" for name in schema.query_type.fields} | {
        f"{type_name}.totalCount"
        for type_name, named in schema.type_map.items()
        if isinstance(named, GraphQLObjectType) and "totalCount" in named.fields
    }
    missing = priced - set(costs)
    assert not missing, f"fields without a declared cost (priced(cost=...)): {sorted(missing)}"
    assert not set(costs) - priced, "costs declared on fields that are neither root nor count"
    scans = [name for name, cost in costs.items() if cost * 2 > Limits().max_cost]
    assert "Query.statistics" in scans and "Query.auditActivity" in scans, scans


async def test_due_for_review_and_overdue_are_connections(api: Api, runtime: Runtime) -> None:
    reviewer = await issue_token(runtime, "county_reviewer", CASEWORKER_TOWNSHIP[:6])
    query = """query($first: Int, $after: String) {
      dueForReview(before: "2100-01-01", first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { archiveNo } } }
      overdue(stage: SUBMITTED, first: 1) { totalCount edges { node { archiveNo } } } }"""
    body = await api.gql(reviewer, query, {"first": 1})
    assert "errors" not in body, body
    assert body["data"]["dueForReview"]["pageInfo"]["hasNextPage"] is False
    assert body["data"]["dueForReview"]["totalCount"] == 0
    too_many = await api.gql(reviewer, query, {"first": 501})
    assert too_many["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "first",
    }


# Fail before the query text was capped and read in one pass: a comment-padded
# text was read five times, a repeated field was parsed before it was refused.


class Parses:
    """Counts graphql-core parses behind the shared parse cache."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = documents.parse

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(documents, "parse", counted)


async def test_a_query_text_over_the_byte_cap_is_refused_unread(
    api: Api, runtime: Runtime, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lexed: list[str] = []
    monkeypatch.setattr(document_limits, "Lexer", lambda s: lexed.append(s) or Lexer(s))
    cap = runtime.limits.max_query_bytes
    padded = "#" + "x" * cap + "\n{ __typename }"
    response = await api.post(token, padded)
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"{cap // 1024} KB" in error["message"]
    assert lexed == [], "an oversized text must not be lexed"
    audited = (await entries(runtime))[-1]
    assert audited["error_codes"] == ["BAD_USER_INPUT"]
    assert audited["http_status"] == 413
    assert audited["document_hash"].startswith("raw:")
    # counted in bytes: a text of fewer characters but more bytes is over as well
    wide = "#" + "字" * (cap // 3 + 1) + "\n{ __typename }"
    assert len(wide) < cap
    assert (await api.post(token, wide)).status_code == 413
    # under the cap, padding is only comments
    fits = "#" + "x" * (cap - 100) + "\n{ __typename }"
    assert "errors" not in await api.gql(token, fits)


async def test_repeats_and_aliases_are_refused_from_the_token_stream_unparsed(
    api: Api, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = Parses(monkeypatch)
    repeated = "{ " + "households { totalCount } " * 40 + "}"
    assert_too_complex(await api.gql(token, repeated), "duplicates")
    inline = "{ households { " + "... on HouseholdConnection { totalCount } " * 20 + "} }"
    assert_too_complex(await api.gql(token, inline), "duplicates")
    assert_too_complex(await api.gql(token, HUGE_ALIASES), "aliases")
    assert parses.calls == 0, "refused documents must not be parsed"


async def test_a_fresh_comment_reuses_the_parse(
    api: Api, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses = Parses(monkeypatch)
    for query in (
        "{ households(first: 1) { totalCount edges { cursor } } }",  # the compiled path
        "query($r: String) { ...Q } fragment Q on Query { households(region: $r) { totalCount } }",
    ):
        assert "errors" not in await api.gql(token, query)
        start = parses.calls
        for i in range(3):
            assert "errors" not in await api.gql(token, f"# fresh {i}\n{query}")
        assert parses.calls == start, f"parsed again for a new comment: {query}"


# documents the token pass must not refuse where the parsed count would not:
# names after `@`, `...`, `... on` and aliases' colons are not response keys
LOWER_BOUND_CORPUS = [
    "{ a: households { totalCount } b: households { totalCount } }",
    "{ households { totalCount ...F ...F } } fragment F on HouseholdConnection { totalCount }",
    "{ households { ... on HouseholdConnection { totalCount } totalCount } }",
    "{ households @include(if: true) { include: totalCount ... @skip(if: false) { skip: totalCount } } }",
    "query on($on: Int) { on: households(first: $on) { ...F } } "
    "fragment F on HouseholdConnection { on: totalCount ... on HouseholdConnection { on: totalCount } }",
    "{ households { pageInfo { hasNextPage } edges { pageInfo: cursor } } }",
    "{ x: __typename ... on Query { x: __typename } y: __typename }",
]


@pytest.mark.parametrize("text", LOWER_BOUND_CORPUS)
def test_the_token_pass_counts_no_more_than_the_parsed_document(text: str) -> None:
    for limit in range(6):
        for limits in (
            Limits(max_duplicates=limit),
            Limits(max_fields=limit),
            Limits(max_aliases=limit),
        ):
            try:
                document_limits._scan(text, limits, [])
            except Exceeded:
                early = True
            else:
                early = False
            if early:
                assert document_refusal(parse(text), limits) is not None, (text, limits)


async def test_cost_is_each_field_times_the_pages_above_it(
    api: Api, runtime: Runtime, token: str
) -> None:
    # households 1 + edges 1 + two pages of (node 1 + archiveNo 1) = 6: the walk starts
    # at one call and takes `first` from the variables the request sends
    query = "query($n: Int!) { households(first: $n) { edges { node { archiveNo } } } }"
    runtime.limits = type(runtime.limits)(max_cost=5)
    body = await api.gql(token, query, {"n": 2})
    assert_too_complex(body, "cost 6 exceeds the limit of 5")
    runtime.limits = type(runtime.limits)(max_cost=6)
    assert "errors" not in await api.gql(token, query, {"n": 2})


ANSWER = '{requestId: "a", findings: []}'
BATCH = "mutation($a: [AnswerInput!]!) { answerVerifications(answers: $a) }"
# Each field is a call (1) plus its declared price, times the items of every list above
# it; a connection's items are its `first` (one at least), a batch's answers are priced
# as the writes of a household's members (30) each
WALKED_COSTS = {
    # households 1, totalCount 1 + 1000, edges 1, then per node of 3: node, archiveNo,
    # members 1 each, and 30 names
    "nested lists": (
        "{ households(first: 3) { totalCount edges { node { archiveNo members { name } } } } }",
        None,
        1102,
    ),
    # a page of none or one is priced as one: households, edges, a cursor
    "first 0": ("{ households(first: 0) { edges { cursor } } }", None, 3),
    "first 1": ("{ households(first: 1) { edges { cursor } } }", None, 3),
    # `first` found after another argument, and through a fragment with no type condition
    "first after region": ('{ households(region: "22", first: 2) { edges { cursor } } }', None, 4),
    "untyped fragment": ("{ households(first: 2) { ... { edges { cursor } } } }", None, 4),
    # a batch as a literal list, a single literal, a variable's list, a single value in
    # a variable, the variable's declared default, and none (refused later, by coercion)
    "literal batch": (
        f"mutation {{ answerVerifications(answers: [{ANSWER}, {ANSWER}]) }}",
        None,
        61,
    ),
    "literal answer": (f"mutation {{ answerVerifications(answers: {ANSWER}) }}", None, 31),
    "batch variable": (BATCH, {"a": [{"requestId": "a", "findings": []}] * 3}, 91),
    "answer variable": (BATCH, {"a": {"requestId": "a", "findings": []}}, 31),
    "default batch": (BATCH.replace("!]!)", f"!]! = [{ANSWER}, {ANSWER}])"), None, 61),
    "null batch": (BATCH, {"a": None}, 1),
    "no batch": (BATCH, {}, 1),
}


@pytest.mark.parametrize("case", WALKED_COSTS)
async def test_the_refused_cost_is_the_walks_sum(
    api: Api, runtime: Runtime, token: str, case: str
) -> None:
    query, variables, cost = WALKED_COSTS[case]
    # the cost is measured before any field is decided: anyone's refusal names it
    runtime.limits = type(runtime.limits)(max_cost=0)
    assert_too_complex(await api.gql(token, query, variables), f"cost {cost} exceeds")


async def test_the_named_operation_is_the_one_walked(
    api: Api, runtime: Runtime, token: str
) -> None:
    runtime.limits = type(runtime.limits)(max_cost=0)
    query = (
        "query A { households(first: 1) { edges { cursor } } } "
        "query B { households(first: 4) { edges { cursor } } }"
    )
    for name, cost in (("B", 6), ("A", 3)):
        response = await api.client.post(
            "/graphql",
            json={"query": query, "operationName": name},
            headers={"authorization": f"Bearer {token}"},
        )
        assert_too_complex(response.json(), f"cost {cost} exceeds")


async def test_a_page_of_none_up_to_the_largest_is_walked(
    api: Api, runtime: Runtime, token: str
) -> None:
    # the bounds are the walk's own: below them it refuses before any resolver runs
    runtime.limits = type(runtime.limits)(max_cost=0)
    for first in (0, 500):
        body = await api.gql(token, f"{{ households(first: {first}) {{ totalCount }} }}")
        assert_too_complex(body, "cost")
    body = await api.gql(token, "{ households(first: -1) { totalCount } }")
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}


def answers(n: int) -> dict[str, Any]:
    # answers without findings: a batch the charge admits is then refused by its
    # resolver, whole and unwritten
    return {"a": [{"requestId": f"{i:032x}", "findings": []} for i in range(n)]}


async def test_each_root_call_and_each_25_answers_are_charged_once(
    api: Api, runtime: Runtime, token: str
) -> None:
    partner = await issue_token(runtime, "partner", "22", department="PUBLIC_SECURITY")
    # a bucket of one call, taken at the door: any call beyond it is refused, naming them
    runtime.limiter.rates.update({"caseworker": Rate(1 / 3600, 1), "partner": Rate(1 / 3600, 1)})
    fragment = " fragment F on Query { households(first: 1) { totalCount } }"
    cases = (
        # aliases and fragment uses are calls; the fields below them are not
        (
            token,
            "{ a: households(first: 1) { edges { node { archiveNo } } } "
            "b: households(first: 1) { totalCount } ...F }" + fragment,
            None,
            3,
        ),
        (partner, BATCH, answers(1), 1),
        (partner, BATCH, answers(25), 1),
        (partner, BATCH, answers(26), 2),
        (partner, BATCH, answers(76), 4),
    )
    for caller, query, variables, calls in cases:
        runtime.limiter._buckets.clear()  # a full bucket, as a fresh credential has
        body = (await api.post(caller, query, variables)).json()
        if calls == 1:
            assert body["errors"][0]["path"] == ["answerVerifications"], body
        else:
            assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED", body
            assert f"this operation makes {calls};" in body["errors"][0]["message"], body


async def test_a_mutation_counts_its_aliases_and_fragment_uses(api: Api, token: str) -> None:
    one = "answerVerifications(answers: [])"
    query = f"mutation {{ a: {one} b: {one} ...M }} fragment M on Mutation {{ {one} }}"
    body = await api.gql(token, query)
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "this operation has 3 (" in body["errors"][0]["message"], body


SEARCH = "auditEvents({}) {{ edges {{ cursor }} }}"


async def test_only_an_answer_about_an_id_number_is_a_lookup(api: Api, runtime: Runtime) -> None:
    auditor = await issue_token(runtime, "auditor", "*")
    partner = await issue_token(runtime, "partner", "22")
    number = id_number()
    given = "query($n: String) { " + SEARCH.format("lookedUpIdNumber: $n") + " }"
    cases = (
        # (caller, query, variables, lookups): an ID number given, literal or variable
        (auditor, "{ " + SEARCH.format(f'lookedUpIdNumber: "{number}"') + " }", None, 1),
        (auditor, given, {"n": number}, 1),
        (auditor, given.replace("String)", f'String = "{number}")'), {}, 1),
        (partner, f'{{ verifyRecipient(idNumber: "{number}") {{ isRecipient }} }}', None, 1),
        (
            partner,
            "query($n: String!) { a: verifyRecipient(idNumber: $n) { isRecipient } "
            "b: verifyRecipient(idNumber: $n) { isRecipient } }",
            {"n": number},
            2,
        ),
        # none: another argument, a null, a variable null or left out
        (auditor, "{ " + SEARCH.format("first: 1") + " }", None, 0),
        (auditor, "{ " + SEARCH.format("lookedUpIdNumber: null, first: 1") + " }", None, 0),
        (auditor, given, {"n": None}, 0),
        (auditor, given, {}, 0),
    )
    clock = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    for caller, query, variables, count in cases:
        # one lookup a minute, afresh for each case: a second lookup is refused
        runtime._quotas = LookupQuotas({"default": Quota(1, 100)}, clock=lambda: clock)
        limited = []
        for _ in range(2):
            response = await api.post(caller, query, variables)
            limited.append(response.status_code == 429)
        assert limited == [count > 1, count > 0], (query, variables)
