"""Misuse alerts over the audit log (issue 17): each rule fires on a scripted misuse,
stays silent on ordinary work, names its evidence, and is acknowledged by an auditor.
Through GraphQL on both backends; the scan is the one the server runs every minute."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from gateway.app import create_app
from gateway.config import Settings
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
)

BEIJING = dt.timezone(dt.timedelta(hours=8))
ALERTS = """query($s: AlertStatus) { alerts(status: $s) {
  id rule principal role count evidence status acknowledgedBy note } }"""
SET = """mutation($rule: AlertRule!, $role: String!, $n: Int!) {
  setAlertThreshold(rule: $rule, role: $role, threshold: $n) {
    changed applied proposal { id status proposer widened { role object before after } } } }"""
THRESHOLDS = "{ alertThresholds { rule role threshold } }"
APPROVE = """mutation($id: ID!) { approvePolicyChange(proposalId: $id, note: "复核同意") {
  status decidedBy } }"""
ACK = "mutation($id: ID!, $n: String!) { acknowledgeAlert(id: $id, note: $n) { status note } }"
SUBMIT = "mutation($i: ApplicationInput!) { submitApplication(input: $i) { archiveNo } }"
PAGE = "{ households(first: 50) { edges { node { archiveNo } } } }"
VERIFY = "query($id: String!) { verifyRecipient(idNumber: $id) { isRecipient } }"
BANK = "{ households(first: 1) { edges { node { address } } } }"


def at(runtime: Runtime, day: str, hour: int) -> None:
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), BEIJING)
    runtime.clock = lambda: moment.astimezone(dt.UTC)


async def alerts(api: Api, token: str, status: str | None = "OPEN") -> list[dict[str, Any]]:
    body = await api.gql(token, ALERTS, {"s": status})
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["alerts"]
    return found


async def officers(runtime: Runtime) -> tuple[str, str]:
    auditor = await issue_token(runtime, "auditor", "*", principal="au-sun")
    secadmin = await issue_token(runtime, "secadmin", "*", principal="sa-li")
    return auditor, secadmin


async def threshold(api: Api, secadmin: str, rule: str, role: str, n: int) -> None:
    """A stricter threshold, applied at once."""
    body = await api.gql(secadmin, SET, {"rule": rule, "role": role, "n": n})
    assert "errors" not in body, body
    assert body["data"]["setAlertThreshold"]["applied"] is True, body


async def held(api: Api, token: str, rule: str, role: str) -> int:
    body = await api.gql(token, THRESHOLDS)
    assert "errors" not in body, body
    found = {(t["rule"], t["role"]): t["threshold"] for t in body["data"]["alertThresholds"]}
    return found.get((rule, role), found.get((rule, "*"), 0))


async def households(api: Api, worker: str, n: int) -> list[str]:
    made = []
    for _ in range(n):
        body = await api.gql(worker, SUBMIT, {"i": application()})
        assert "errors" not in body, body
        made.append(body["data"]["submitApplication"]["archiveNo"])
    return made


async def test_bulk_reads_fire_over_the_threshold_and_name_their_evidence(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-zhou")
    at(runtime, "2026-11-30", 10)
    await households(api, worker, 6)
    await runtime.scan_alerts()
    assert await alerts(api, auditor) == []  # 6 households in an hour: ordinary work
    await threshold(api, secadmin, "BULK_READS", "caseworker", 5)
    body = await api.gql(worker, PAGE)
    assert len(body["data"]["households"]["edges"]) == 6
    await runtime.scan_alerts()
    [alert] = await alerts(api, auditor)
    assert (alert["rule"], alert["principal"], alert["role"]) == (
        "BULK_READS",
        "cw-zhou",
        "caseworker",
    )
    assert alert["count"] >= 6
    page_read = [e for e in await entries(runtime) if e["principal"] == "cw-zhou"][-1]
    assert page_read["seq"] in alert["evidence"]
    await runtime.scan_alerts()  # scanned again: still one alert for that hour
    assert len(await alerts(api, auditor)) == 1


async def test_lookup_misses_and_refusals(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    await threshold(api, secadmin, "LOOKUP_MISSES", "*", 3)
    await threshold(api, secadmin, "REFUSALS", "*", 3)
    partner = await issue_token(runtime, "partner", "22", principal="bank-x")
    for _ in range(3):  # nobody: three misses
        assert "errors" not in await api.gql(partner, VERIFY, {"id": id_number()})
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fo-wu")
    for _ in range(3):  # addresses are not finance's to read: refused every time
        refused = await api.gql(finance, BANK)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await runtime.scan_alerts()
    found = {(a["rule"], a["principal"]) for a in await alerts(api, auditor)}
    assert found == {("LOOKUP_MISSES", "bank-x"), ("REFUSALS", "fo-wu")}


async def test_reads_outside_working_hours_for_configured_roles(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-ma")
    at(runtime, "2026-11-30", 10)  # a Monday morning
    await households(api, worker, 1)
    await api.gql(worker, PAGE)
    at(runtime, "2026-10-02", 10)  # National Day: not a working day
    await api.gql(worker, PAGE)
    await runtime.scan_alerts()
    assert await alerts(api, auditor) == []  # off by default
    await threshold(api, secadmin, "OFF_HOURS", "caseworker", 1)
    at(runtime, "2026-10-03", 23)
    await api.gql(worker, PAGE)
    at(runtime, "2026-12-01", 11)  # a Tuesday morning: ordinary
    await api.gql(worker, PAGE)
    await runtime.scan_alerts()
    [late] = await alerts(api, auditor)
    assert (late["rule"], late["principal"]) == ("OFF_HOURS", "cw-ma")


@asynccontextmanager
async def from_address(
    settings: Settings, runtime: Runtime, address: str, port: int = 40000
) -> AsyncIterator[Api]:
    app = create_app(settings, runtime)
    transport = httpx.ASGITransport(app=app, client=(address, port))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)


async def test_a_credential_used_from_a_new_address(
    api: Api, runtime: Runtime, settings: Settings
) -> None:
    await load_regions(runtime)
    auditor, _ = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    partner = await issue_token(runtime, "partner", "22", principal="bank-y")
    async with from_address(settings, runtime, "10.20.0.5") as home:
        await home.gql(partner, VERIFY, {"id": id_number()})
    async with from_address(settings, runtime, "10.20.0.5", port=51234) as reconnected:
        await reconnected.gql(partner, VERIFY, {"id": id_number()})
    await runtime.scan_alerts()
    assert await alerts(api, auditor) == []  # its first host is its own, whatever the port
    async with from_address(settings, runtime, "203.0.113.9") as away:
        await away.gql(partner, VERIFY, {"id": id_number()})
    await runtime.scan_alerts()
    [moved] = await alerts(api, auditor)
    assert (moved["rule"], moved["principal"]) == ("NEW_CLIENT", "bank-y")


async def test_an_auditor_acknowledges_and_only_a_secadmin_tunes(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    await threshold(api, secadmin, "REFUSALS", "*", 2)
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fo-he")
    for _ in range(2):
        await api.gql(finance, BANK)
    await runtime.scan_alerts()
    [alert] = await alerts(api, auditor)
    # the secadmin who sets thresholds does not clear alerts; the auditor does not tune
    assert (await api.gql(secadmin, ACK, {"id": alert["id"], "n": "看过"}))["errors"][0][
        "extensions"
    ]["code"] == "FORBIDDEN"
    denied = await api.gql(auditor, SET, {"rule": "REFUSALS", "role": "*", "n": 0})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    done = await api.gql(auditor, ACK, {"id": alert["id"], "n": "已核实：误操作，已培训"})
    assert done["data"]["acknowledgeAlert"] == {
        "status": "ACKNOWLEDGED",
        "note": "已核实：误操作，已培训",
    }
    again = await api.gql(auditor, ACK, {"id": alert["id"], "n": "再次"})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await alerts(api, auditor) == []
    [closed] = await alerts(api, auditor, "ACKNOWLEDGED")
    assert closed["acknowledgedBy"] == "au-sun"
    # both the tuning and the acknowledgement are audited like every request
    ops = [(e["principal"], e["outcome"]) for e in await entries(runtime)]
    assert ("au-sun", "allowed") in ops and ("sa-li", "allowed") in ops
    bad = await api.gql(secadmin, SET, {"rule": "REFUSALS", "role": "janitor", "n": 1})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_ordinary_work_of_the_demo_roles_raises_nothing(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    auditor, _ = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    supervisor = await issue_token(runtime, "supervisor", "22")
    partner = await issue_token(runtime, "partner", "22")
    await households(api, worker, 5)
    for token in (worker, reviewer, supervisor):
        for _ in range(3):
            assert "errors" not in await api.gql(token, PAGE)
    for _ in range(5):
        await api.gql(partner, VERIFY, {"id": id_number()})
    await runtime.scan_alerts()
    assert await alerts(api, auditor) == []


async def test_metrics_count_the_alerts_and_name_no_one(api: Api, runtime: Runtime) -> None:
    """`GET /metrics` (Prometheus text): alerts per rule and status, without a credential
    and without an audit entry, and no principal's name in it."""
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    at(runtime, "2026-11-30", 10)
    await threshold(api, secadmin, "REFUSALS", "*", 2)
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fo-metrics")
    for _ in range(2):
        await api.gql(finance, BANK)
    await runtime.scan_alerts()
    before = len(await entries(runtime))
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'dibao_alerts{rule="REFUSALS",status="OPEN"} 1.0' in text
    assert 'dibao_alerts{rule="BULK_READS",status="OPEN"} 0.0' in text
    assert f"dibao_audit_entries {before}.0" in text
    assert "fo-metrics" not in text
    assert len(await entries(runtime)) == before  # a scrape is not a request to audit
    [alert] = await alerts(api, auditor)
    await api.gql(auditor, ACK, {"id": alert["id"], "n": "已处理"})
    after = (await api.client.get("/metrics")).text
    assert 'dibao_alerts{rule="REFUSALS",status="ACKNOWLEDGED"} 1.0' in after


async def test_an_alert_about_an_auditor_is_acknowledged_by_another(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    second = await issue_token(runtime, "auditor", "*", principal="au-zhou")
    at(runtime, "2026-11-30", 10)
    await threshold(api, secadmin, "REFUSALS", "*", 2)
    for _ in range(2):  # archives are not an auditor's to read
        refused = await api.gql(auditor, BANK)
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await runtime.scan_alerts()
    [alert] = await alerts(api, auditor)
    assert alert["principal"] == "au-sun"
    own = await api.gql(auditor, ACK, {"id": alert["id"], "n": "我自己的，没事"})
    assert own["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert [a["id"] for a in await alerts(api, second)] == [alert["id"]]  # still open
    done = await api.gql(second, ACK, {"id": alert["id"], "n": "已核实：演练"})
    assert done["data"]["acknowledgeAlert"]["status"] == "ACKNOWLEDGED"


async def test_loosening_a_rule_waits_for_a_second_secadmin(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    auditor, secadmin = await officers(runtime)
    second = await issue_token(runtime, "secadmin", "*", principal="sa-wang")
    # switching refusals off for everyone, alone: held, and nothing changes
    body = await api.gql(secadmin, SET, {"rule": "REFUSALS", "role": "*", "n": 0})
    change = body["data"]["setAlertThreshold"]
    assert change["applied"] is False and change["changed"] is False, body
    proposal = change["proposal"]
    assert proposal["status"] == "PENDING" and proposal["proposer"] == "sa-li"
    assert proposal["widened"] == [
        {"role": "*", "object": "AlertRule.REFUSALS", "before": "20", "after": "off"}
    ]
    assert await held(api, secadmin, "REFUSALS", "*") == 20
    # the same change again is the same proposal; a higher count is a loosening too
    again = await api.gql(secadmin, SET, {"rule": "REFUSALS", "role": "*", "n": 0})
    assert again["data"]["setAlertThreshold"]["proposal"]["id"] == proposal["id"]
    higher = await api.gql(secadmin, SET, {"rule": "LOOKUP_MISSES", "role": "partner", "n": 50})
    assert higher["data"]["setAlertThreshold"]["applied"] is False, higher
    # the proposer cannot approve it; the auditor reads it but cannot decide
    own = await api.gql(secadmin, APPROVE, {"id": proposal["id"]})
    assert own["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert (await api.gql(auditor, APPROVE, {"id": proposal["id"]}))["errors"][0]["extensions"][
        "code"
    ] == "FORBIDDEN"
    # still watching: three refusals in an hour, under a threshold tightened meanwhile
    await threshold(api, secadmin, "REFUSALS", "*", 3)
    stale = await api.gql(second, APPROVE, {"id": proposal["id"]})
    assert stale["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "stale" in stale["errors"][0]["message"]
    assert await held(api, secadmin, "REFUSALS", "*") == 3
    # proposed again from 3, a second secadmin approves: the rule is off
    fresh = await api.gql(secadmin, SET, {"rule": "REFUSALS", "role": "*", "n": 0})
    fresh_id = fresh["data"]["setAlertThreshold"]["proposal"]["id"]
    assert fresh_id != proposal["id"]
    done = await api.gql(second, APPROVE, {"id": fresh_id})
    assert done["data"]["approvePolicyChange"] == {"status": "APPROVED", "decidedBy": "sa-wang"}
    assert await held(api, secadmin, "REFUSALS", "*") == 0
    # a stricter threshold, and switching a rule on, apply at once
    on = await api.gql(secadmin, SET, {"rule": "OFF_HOURS", "role": "caseworker", "n": 5})
    assert on["data"]["setAlertThreshold"] == {"changed": True, "applied": True, "proposal": None}
    same = await api.gql(secadmin, SET, {"rule": "OFF_HOURS", "role": "caseworker", "n": 5})
    assert same["data"]["setAlertThreshold"]["changed"] is False
