"""GraphQL over HTTP: the spec's media type and its status rules, next to the legacy one.

A client accepting `application/graphql-response+json` (Apollo Client, urql and
graphql-request send it first by default) gets that type, and a request that
never reached execution is a 4xx without `data`. `application/json` clients see
exactly what they saw before. Either way the same credential checks, the same
refusals and one audit entry with the status actually sent.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions

NEW = "application/graphql-response+json"
LEGACY = "application/json"
BOTH = f"{NEW}, {LEGACY}"  # what current clients send

GOOD = "{ households(first: 1) { totalCount } }"
UNPARSABLE = "{ households(first: 1) { totalCount }"
INVALID = "{ households(first: 1) { noSuchField } }"
TYPED = "query($n: Int!) { households(first: $n) { totalCount } }"
FORBIDDEN = "{ auditEvents(first: 1) { edges { node { seq } } } }"


async def post(
    api: Api, token: str | None, accept: str | None, body: dict[str, Any]
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if accept is not None:
        headers["accept"] = accept
    return await api.client.post("/graphql", json=body, headers=headers)


@pytest.fixture
async def worker(runtime: Runtime) -> str:
    await load_regions(runtime)
    return await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)


async def last_entry(runtime: Runtime) -> dict[str, Any]:
    return (await entries(runtime))[-1]


@pytest.mark.parametrize("accept", [NEW, BOTH, f"{LEGACY};q=0.9, {NEW}"])
async def test_the_new_media_type_is_served_when_accepted(
    api: Api, worker: str, accept: str
) -> None:
    response = await post(api, worker, accept, {"query": GOOD})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(NEW)
    assert response.json()["data"]["households"]["totalCount"] >= 0


@pytest.mark.parametrize(
    "accept", [None, "*/*", LEGACY, f"{LEGACY}, {NEW};q=0.5", f"{NEW};q=0, {LEGACY}", "text/html"]
)
async def test_application_json_stays_the_default(
    api: Api, worker: str, accept: str | None
) -> None:
    response = await post(api, worker, accept, {"query": UNPARSABLE})
    # the legacy type keeps its rule: a GraphQL response is 200, with `data: null`
    assert response.headers["content-type"].startswith(LEGACY)
    assert response.status_code == 200
    assert response.json()["data"] is None


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (UNPARSABLE, {}),
        (INVALID, {}),
        (TYPED, {"n": "not a number"}),  # variable coercion
        (TYPED, {}),  # a required variable missing
        ("{ households(first: 100000) { totalCount } }", {}),  # an argument out of bounds
    ],
)
async def test_request_errors_are_400_without_data(
    api: Api, runtime: Runtime, worker: str, query: str, variables: dict[str, Any]
) -> None:
    response = await post(api, worker, BOTH, {"query": query, "variables": variables})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(NEW)
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    entry = await last_entry(runtime)
    assert entry["http_status"] == 400  # the entry holds the status actually sent
    assert entry["error_codes"] == ["BAD_USER_INPUT"]


async def test_a_too_complex_document_is_a_request_error(
    api: Api, runtime: Runtime, worker: str
) -> None:
    deep = "{ households(first: 1) { " + "edges { node { archiveNo } } " * 300 + "} }"
    response = await post(api, worker, NEW, {"query": deep})
    assert response.status_code in (400, 413), response.text
    assert "data" not in response.json()
    legacy = await post(api, worker, LEGACY, {"query": deep})
    assert (
        legacy.json()["errors"][0]["extensions"]["code"]
        == (response.json()["errors"][0]["extensions"]["code"])
    )


async def test_execution_errors_keep_200_and_data(api: Api, runtime: Runtime, worker: str) -> None:
    # a field error after execution began: the spec's 200 with `data`, under the new type too
    unknown = '"220183100001-2021-999999"'
    response = await post(
        api,
        worker,
        NEW,
        {"query": f"mutation {{ acceptApplication(archiveNo: {unknown}) {{ archiveNo }} }}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None  # present: execution began, the non-null field failed
    assert body["errors"][0]["path"] == ["acceptApplication"]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await last_entry(runtime))["http_status"] == 200


@pytest.mark.parametrize("accept", [NEW, LEGACY])
async def test_refusals_do_not_depend_on_the_media_type(
    api: Api, runtime: Runtime, worker: str, accept: str
) -> None:
    forbidden = await post(api, worker, accept, {"query": FORBIDDEN})
    assert forbidden.status_code == 200
    assert forbidden.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert forbidden.json()["data"] is None  # refused whole: data is null, not absent
    assert (await last_entry(runtime))["error_codes"] == ["FORBIDDEN"]

    nobody = await post(api, None, accept, {"query": GOOD})
    assert nobody.status_code == 401
    assert nobody.headers["www-authenticate"].startswith("Bearer")
    assert nobody.headers["content-type"].startswith(accept)
    assert nobody.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # a request error: the new type has no `data` entry, the legacy one keeps its null
    assert ("data" in nobody.json()) is (accept == LEGACY)
    entry = await last_entry(runtime)
    assert (entry["http_status"], entry["error_codes"]) == (401, ["UNAUTHENTICATED"])


@pytest.mark.parametrize("extensions", ["a string", 1, True, ["a", "list"]])
@pytest.mark.parametrize("accept", [NEW, LEGACY])
async def test_extensions_must_be_an_object(
    api: Api, runtime: Runtime, worker: str, extensions: Any, accept: str
) -> None:
    response = await post(api, worker, accept, {"query": GOOD, "extensions": extensions})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`extensions`" in response.json()["errors"][0]["message"]
    assert (await last_entry(runtime))["http_status"] == 400


async def test_an_object_extensions_is_accepted(api: Api, worker: str) -> None:
    response = await post(api, worker, NEW, {"query": GOOD, "extensions": {"anything": 1}})
    assert response.status_code == 200
    assert "data" in response.json()


@pytest.mark.parametrize("accept", [NEW, LEGACY])
async def test_get_is_declined_for_every_operation(
    api: Api, runtime: Runtime, worker: str, accept: str
) -> None:
    # URL-encoded GET would put ID numbers in every proxy's access log (README)
    response = await api.client.get(
        "/graphql",
        params={
            "query": "query($n: Int!) { households(first: $n) { totalCount } }",
            "variables": '{"n": 1}',
        },
        headers={"authorization": f"Bearer {worker}", "accept": accept},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"].startswith(accept)
    assert "data" not in response.json() or accept == LEGACY
    assert (await last_entry(runtime))["http_status"] == 405
