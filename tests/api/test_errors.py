"""Unexpected failures become INTERNAL with a fixed message: nothing leaks."""

from __future__ import annotations

import base64

from sqlalchemy import update

from gateway.runtime import Runtime
from schema.errors import INTERNAL_MESSAGE
from store.models import Household
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"


async def test_tampered_ciphertext_is_an_internal_error_without_details(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    token = await issue_token(runtime, "finance_officer", "220183")
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    archive = (await api.gql(worker, SUBMIT, {"input": application()}))["data"][
        "submitApplication"
    ]["archiveNo"]
    async with runtime.sessions.begin() as session:
        # a ciphertext copied from another row must not decrypt (AAD binds it to its row)
        other = runtime.cipher.encrypt(
            "6222021234567890123", table="households", column="bank_account", row_id="someone-else"
        )
        await session.execute(
            update(Household).where(Household.archive_no == archive).values(bank_account_enc=other)
        )
    response = await api.post(
        token,
        "query($a: String!) { household(archiveNo: $a) { archiveNo bankAccount } }",
        {"a": archive},
    )
    body = response.json()
    assert body["errors"] == [
        {
            "message": INTERNAL_MESSAGE,
            "extensions": {"code": "INTERNAL"},
            "locations": [{"line": 1, "column": 59}],
            "path": ["household", "bankAccount"],
        }
    ]
    for leak in ("InvalidTag", "Traceback", "cryptography", "SELECT", "6222021234567890123"):
        assert leak not in response.text


async def test_malformed_requests_get_coded_errors(api: Api, runtime: Runtime) -> None:
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    broken = await api.client.post("/graphql", content=b"{not json", headers=headers)
    assert broken.status_code == 400
    syntax = await api.gql(token, "{ households { ")
    assert syntax["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_variable = await api.gql(
        token, "query($n: Int!) { households(first: $n) { totalCount } }", {"n": "x' OR 1=1"}
    )
    assert bad_variable["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cursor = await api.gql(token, '{ households(after: "bm9wZQ==") { totalCount } }')
    assert bad_cursor["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


ACTIVITY = (
    "query($s: DateTime!, $u: DateTime!) "
    "{ auditActivity(since: $s, until: $u, bucket: DAY, by: ROLE) { count } }"
)
EVENTS_AFTER = "query($c: String) { auditEvents(after: $c) { edges { cursor } } }"
EVENTS_BY = "query($p: String) { auditEvents(principal: $p) { edges { cursor } } }"
ACCEPT_NUL = (
    'mutation { acceptApplication(archiveNo: "220183100001-2026-000001", '
    'reason: "ok\\u0000") { status } }'
)


async def test_hostile_values_are_bad_input_not_internal(api: Api, runtime: Runtime) -> None:
    auditor = await issue_token(runtime, "auditor", "*")
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    overflow = base64.urlsafe_b64encode(b"a:99999999999999999999999").decode()
    ancient = {"s": "0001-01-01T00:00:00+14:00", "u": "0001-01-02T00:00:00+14:00"}
    cases = [
        (auditor, EVENTS_AFTER, {"c": overflow}),
        (auditor, ACTIVITY, ancient),
        (worker, ACCEPT_NUL, None),
        (auditor, EVENTS_BY, {"p": "a\x00b"}),
    ]
    for token, query, variables in cases:
        response = await api.post(token, query, variables)
        assert "INTERNAL" not in response.text, (query, response.text)
        assert "BAD_USER_INPUT" in response.text, (query, response.text)
