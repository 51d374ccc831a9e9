"""A partner credential reads by agreement: the verification entry points by default,
anything more only when named on the credential, and never beyond the partner policy."""

from __future__ import annotations

import pytest

from gateway.runtime import Runtime
from tests.authz.conftest import Archive
from tests.conftest import Api
from tests.helpers import issue_token

pytestmark = pytest.mark.both_paths

PAGE = "{ households(first: 5) { totalCount edges { cursor node { archiveNo status } } pageInfo { hasNextPage endCursor } } }"
POINT = "query($a: String!) { household(archiveNo: $a) { archiveNo status } }"
VERIFY = "query($id: String!) { verifyRecipient(idNumber: $id) { isRecipient idNumber name } }"


def assert_forbidden(body: dict[str, object], *names: str) -> None:
    assert body.get("data") is None, body
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN", body
    for name in names:
        assert name in errors[0]["extensions"]["denied"], (name, body)


async def test_default_partner_verifies_and_cannot_page(
    api: Api, archive: Archive, runtime: Runtime
) -> None:
    token = archive.tokens["partner"]
    assert_forbidden(await api.gql(token, PAGE), "Query.households")
    assert_forbidden(await api.gql(token, POINT, {"a": archive.inside}), "Query.household")
    checked = await api.gql(token, VERIFY, {"id": archive.head_id})
    assert "errors" not in checked, checked
    answer = checked["data"]["verifyRecipient"]
    assert answer["idNumber"] == archive.head_id[:6] + "********" + archive.head_id[-4:]


async def test_listed_partner_reads_what_it_names_and_no_plumbing_is_listed(
    api: Api, archive: Archive, runtime: Runtime
) -> None:
    fields = ["Query.households", "Query.household", "Household.archiveNo", "Household.status"]
    token = await issue_token(runtime, "partner", "22", fields=fields, principal="listed")
    page = await api.gql(token, PAGE)
    assert "errors" not in page, page
    assert page["data"]["households"]["totalCount"] == 1
    assert page["data"]["households"]["edges"][0]["node"]["archiveNo"] == archive.inside
    point = await api.gql(token, POINT, {"a": archive.inside})
    assert point["data"]["household"]["status"] == "SUBMITTED"
    # entry points are named like data: this list leaves verification out
    assert_forbidden(await api.gql(token, VERIFY, {"id": archive.head_id}), "Query.verifyRecipient")
    # not listed: refused even where the partner policy would allow it
    regions = "query($a: String!) { household(archiveNo: $a) { regionCode } }"
    assert_forbidden(await api.gql(token, regions, {"a": archive.inside}), "Household.regionCode")


async def test_a_list_cannot_exceed_the_partner_policy(
    api: Api, archive: Archive, runtime: Runtime
) -> None:
    fields = ["Query.household", "Household.address", "Household.bankAccount", "Member.phone"]
    token = await issue_token(runtime, "partner", "22", fields=fields, principal="greedy")
    query = (
        "query($a: String!) { household(archiveNo: $a) { address bankAccount members { phone } } }"
    )
    assert_forbidden(
        await api.gql(token, query, {"a": archive.inside}),
        "Household.address",
        "Household.bankAccount",
    )
