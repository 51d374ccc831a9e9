"""Four eyes (README, "Four eyes on widening"): a proposal shows the first 50 decisions it
widens with their count. Through GraphQL, on both backends."""

from __future__ import annotations

from gateway.runtime import Runtime
from tests.authz.conftest import Archive
from tests.authz.test_four_eyes import LIST, PROPOSAL
from tests.conftest import Api

INHERIT = f"""
mutation($m: String!, $r: String!) {{
  grantRole(member: $m, role: $r) {{ changed applied proposal {{ {PROPOSAL} }} }}
}}
"""


async def test_a_proposal_shows_the_first_50_widenings_and_counts_them_all(
    api: Api, runtime: Runtime, archive: Archive
) -> None:
    secadmin = archive.tokens["secadmin"]
    # a finance officer inheriting a county reviewer's rights widens far more than 50 decisions
    body = await api.gql(secadmin, INHERIT, {"m": "finance_officer", "r": "county_reviewer"})
    assert "errors" not in body, body
    change = body["data"]["grantRole"]
    assert (change["changed"], change["applied"]) == (False, False)
    proposal = change["proposal"]
    assert proposal["widenedCount"] > 50
    assert len(proposal["widened"]) == 50
    assert all(w["role"] == "finance_officer" for w in proposal["widened"])
    listed = (await api.gql(secadmin, LIST, {"s": "PENDING"}))["data"]["policyProposals"]
    assert [(p["id"], p["widenedCount"], len(p["widened"])) for p in listed] == [
        (proposal["id"], proposal["widenedCount"], 50)
    ]
