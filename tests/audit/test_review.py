"""Security officers' review: auditEvents for auditors only, filtered, and itself audited."""

from __future__ import annotations

from gateway.runtime import Runtime
from tests.audit.test_audit_log import READ, SUBMIT, entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions

EVENTS = """
query Events($principal: String, $archiveNo: String, $outcome: String, $first: Int, $after: String) {
  auditEvents(principal: $principal, archiveNo: $archiveNo, outcome: $outcome, first: $first, after: $after) {
    edges { cursor node { seq principal role outcome archiveNos errorCodes operationName
                          fields { field decision } traceId } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_who_looked_at_household_x(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-li")
    supervisor = await issue_token(runtime, "supervisor", "22", principal="sup-wang")
    partner = await issue_token(runtime, "partner", "22", principal="bank-x")
    auditor = await issue_token(runtime, "auditor", "*", principal="sec-officer")
    archive = (await api.gql(worker, SUBMIT, {"input": application()}))["data"][
        "submitApplication"
    ]["archiveNo"]
    other = (await api.gql(worker, SUBMIT, {"input": application(members=None)}))["data"][
        "submitApplication"
    ]["archiveNo"]
    await api.gql(supervisor, READ, {"a": archive})
    await api.gql(
        partner, "query($a: String!) { household(archiveNo: $a) { bankAccount } }", {"a": archive}
    )
    await api.gql(worker, READ, {"a": other})

    about = await api.gql(auditor, EVENTS, {"archiveNo": archive})
    nodes = [e["node"] for e in about["data"]["auditEvents"]["edges"]]
    assert [(n["principal"], n["outcome"]) for n in nodes] == [
        ("sup-wang", "masked"),
        ("cw-li", "allowed"),
    ]
    assert {"field": "Member.name", "decision": "read_masked"} in nodes[0]["fields"]
    refused = await api.gql(auditor, EVENTS, {"outcome": "denied"})
    denied = [e["node"] for e in refused["data"]["auditEvents"]["edges"]]
    assert [(n["principal"], n["errorCodes"]) for n in denied] == [("bank-x", ["FORBIDDEN"])]
    assert {"field": "Household.bankAccount", "decision": "denied"} in denied[0]["fields"]

    # paging, newest first
    first = await api.gql(auditor, EVENTS, {"principal": "cw-li", "first": 2})
    page = first["data"]["auditEvents"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await api.gql(
        auditor, EVENTS, {"principal": "cw-li", "first": 2, "after": page["pageInfo"]["endCursor"]}
    )
    seqs = [e["node"]["seq"] for e in page["edges"] + rest["data"]["auditEvents"]["edges"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(seqs) == 3

    # the auditor's own reads are in the log too
    log = await entries(runtime)
    assert [e["principal"] for e in log[-4:]] == ["sec-officer"] * 4
    assert log[-1]["operation_name"] == "Events"


async def test_only_auditors_read_the_log(api: Api, runtime: Runtime) -> None:
    for role, scope in (
        ("caseworker", CASEWORKER_TOWNSHIP),
        ("secadmin", "*"),
        ("sysadmin", "*"),
        ("supervisor", "22"),
    ):
        token = await issue_token(runtime, role, scope)
        body = await api.gql(token, EVENTS, {})
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
        assert "Query.auditEvents" in body["errors"][0]["extensions"]["denied"]
