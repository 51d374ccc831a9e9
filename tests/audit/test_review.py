"""Security officers' review: auditEvents for auditors only, filtered, and itself audited."""

from __future__ import annotations

import datetime as dt

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
        ("bank-x", "denied"),  # refused attempts show up too
        ("sup-wang", "masked"),
        ("cw-li", "allowed"),
    ]
    assert {"field": "Member.name", "decision": "read_masked"} in nodes[1]["fields"]
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


ACTIVITY = """
query($since: DateTime!, $until: DateTime!, $bucket: Bucket!, $by: Grouping!) {
  auditActivity(since: $since, until: $until, bucket: $bucket, by: $by) { start key count }
}
"""
CHAIN = "{ auditChain { entries headSeq lastVerification { ok entries by } } }"
VERIFY = "mutation { verifyAuditChain { ok entries firstBad reason by } }"


async def test_refusals_over_time_chain_status_and_verification(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    auditor = await issue_token(runtime, "auditor", "*", principal="sec-officer")
    partner = await issue_token(runtime, "partner", "22", principal="bank-x")
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-li")
    archive = (await api.gql(worker, SUBMIT, {"input": application()}))["data"][
        "submitApplication"
    ]["archiveNo"]
    for _ in range(3):
        await api.gql(
            partner,
            "query($a: String!) { household(archiveNo: $a) { bankAccount } }",
            {"a": archive},
        )
    await api.client.post("/graphql", json={"query": "{ __typename }"})

    window = {"since": "2000-01-01T00:00:00+08:00", "until": "2000-03-01T00:00:00+08:00"}
    empty = await api.gql(auditor, ACTIVITY, {**window, "bucket": "DAY", "by": "ROLE"})
    assert empty == {"data": {"auditActivity": []}}
    now = dt.datetime.now(dt.UTC)
    window = {
        "since": (now - dt.timedelta(days=1)).isoformat(),
        "until": (now + dt.timedelta(hours=1)).isoformat(),
    }
    by_role = await api.gql(auditor, ACTIVITY, {**window, "bucket": "HOUR", "by": "ROLE"})
    counts = {b["key"]: b["count"] for b in by_role["data"]["auditActivity"]}
    assert counts == {"partner": 3, "(none)": 1}
    by_principal = await api.gql(auditor, ACTIVITY, {**window, "bucket": "DAY", "by": "PRINCIPAL"})
    assert {b["key"]: b["count"] for b in by_principal["data"]["auditActivity"]} == {
        "bank-x": 3,
        "(none)": 1,
    }
    start = by_principal["data"]["auditActivity"][0]["start"]
    assert dt.datetime.fromisoformat(start).astimezone(dt.timezone(dt.timedelta(hours=8))).hour == 0

    role_filter = await api.gql(
        auditor,
        EVENTS.replace("$principal: String,", "$principal: String, $role: String,").replace(
            "auditEvents(principal: $principal,", "auditEvents(principal: $principal, role: $role,"
        ),
        {"role": "partner"},
    )
    assert {e["node"]["role"] for e in role_filter["data"]["auditEvents"]["edges"]} == {"partner"}

    before = await api.gql(auditor, CHAIN)
    assert before["data"]["auditChain"]["lastVerification"] is None
    assert before["data"]["auditChain"]["entries"] == before["data"]["auditChain"]["headSeq"] >= 8
    ran = await api.gql(auditor, VERIFY)
    assert ran["data"]["verifyAuditChain"]["ok"] is True
    assert ran["data"]["verifyAuditChain"]["by"] == "sec-officer"
    after = await api.gql(auditor, CHAIN)
    assert after["data"]["auditChain"]["lastVerification"]["ok"] is True
    denied = await api.gql(worker, VERIFY)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_console_is_served_with_a_strict_policy(api: Api) -> None:
    redirect = await api.client.get("/console")
    assert redirect.status_code == 308
    assert redirect.headers["location"] == "/console/"
    assert "default-src 'self'" in redirect.headers["content-security-policy"]
