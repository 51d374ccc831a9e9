"""A change that would let a role rebuild masked ID numbers is refused at either step of four
eyes (README, "Four eyes on widening"): proposed while harmless, it is refused when approved
on a policy that since shows the role masked ID numbers. Through GraphQL, on both backends."""

from __future__ import annotations

from typing import Any

from gateway.runtime import Runtime
from tests.authz.conftest import Archive
from tests.conftest import Api
from tests.helpers import issue_token

GRANT = """mutation($input: PermissionInput!) {
  grantPermission(input: $input) { applied proposal { id status } } }"""
APPROVE = "mutation($id: ID!) { approvePolicyChange(proposalId: $id) { status } }"
PENDING = "{ policyProposals { id status } }"


def proposal_of(body: dict[str, Any]) -> str:
    assert "errors" not in body, body
    change = body["data"]["grantPermission"]
    assert change["applied"] is False, change
    return str(change["proposal"]["id"])


async def test_a_harmless_proposal_that_would_now_rebuild_is_refused_at_approval(
    api: Api, runtime: Runtime, archive: Archive
) -> None:
    secadmin = archive.tokens["secadmin"]
    second = await issue_token(runtime, "secadmin", "*", principal="secadmin-2")
    birth = {"subject": "clerk", "object": "Member.birthDate", "action": "read"}
    masked = {"subject": "clerk", "object": "Member.idNumber", "action": "read_masked"}
    first = proposal_of(await api.gql(secadmin, GRANT, {"input": birth}))  # harmless yet
    then = proposal_of(await api.gql(secadmin, GRANT, {"input": masked}))  # harmless too
    applied = await api.gql(second, APPROVE, {"id": then})
    assert applied["data"]["approvePolicyChange"]["status"] == "APPROVED", applied
    refused = await api.gql(second, APPROVE, {"id": first})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    assert "birthDate" in refused["errors"][0]["message"]
    pending = (await api.gql(second, PENDING))["data"]["policyProposals"]
    assert {p["id"] for p in pending} == {first}  # not applied: still pending
