"""Lookups by ID number leave the person's blind index in the audit log, never the ID:
hits and misses alike, so "who looked up this person" is answerable and runs of misses
show up as alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from audit.chain import verify
from gateway.quota import LookupQuotas, Quota
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

pytestmark = pytest.mark.both_paths

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
VERIFY = "query($id: String!) { verifyRecipient(idNumber: $id) { isRecipient idNumber } }"
WHO = """query($id: String!) { auditEvents(lookedUpIdNumber: $id) { edges { node {
  principal outcome lookups { kind blindIndex found county } } } } }"""
ALERTS = """query($s: DateTime!, $u: DateTime!) { lookupAlerts(since: $s, until: $u, threshold: 3) {
  principal role credentialId lookups misses conflicts } }"""


async def submitted(api: Api, runtime: Runtime) -> str:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw")
    number = id_number()
    body = await api.gql(
        worker, SUBMIT, {"input": application(members=[member("HEAD", number=number)])}
    )
    assert "errors" not in body, body
    return number


def window() -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "s": (now - dt.timedelta(hours=1)).isoformat(),
        "u": (now + dt.timedelta(hours=1)).isoformat(),
    }


async def test_hits_and_misses_leave_the_blind_index_not_the_id(api: Api, runtime: Runtime) -> None:
    known = await submitted(api, runtime)
    unknown = id_number()
    partner = await issue_token(runtime, "partner", "22", principal="bank-x")
    hit = await api.gql(partner, VERIFY, {"id": known})
    assert hit["data"]["verifyRecipient"]["idNumber"].count("*") == 8
    literal = '{ verifyRecipient(idNumber: "' + unknown + '") { isRecipient } }'
    assert (await api.gql(partner, literal))["data"]["verifyRecipient"]["isRecipient"] is False

    log = [e for e in await entries(runtime) if e["principal"] == "bank-x"]
    assert [e["lookups"] for e in log] == [
        [{"kind": "verify", "blind_index": runtime.cipher.blind_index(known).hex(), "found": True}],
        [
            {
                "kind": "verify",
                "blind_index": runtime.cipher.blind_index(unknown).hex(),
                "found": False,
            }
        ],
    ]
    for entry, number in zip(log, (known, unknown), strict=True):
        text = str(entry)
        assert number not in text and number[6:14] not in text


async def test_the_auditor_finds_who_looked_up_a_person(api: Api, runtime: Runtime) -> None:
    known = await submitted(api, runtime)
    partner = await issue_token(runtime, "partner", "22", principal="bank-x")
    other = await issue_token(runtime, "partner", "22", principal="bank-y")
    auditor = await issue_token(runtime, "auditor", "*", principal="officer")
    await api.gql(partner, VERIFY, {"id": known})
    await api.gql(other, VERIFY, {"id": id_number()})  # someone else
    missing = id_number()
    await api.gql(other, VERIFY, {"id": missing})

    found = await api.gql(auditor, WHO, {"id": known})
    nodes = [e["node"] for e in found["data"]["auditEvents"]["edges"]]
    # the submission claimed the person, the partner looked them up
    assert [n["principal"] for n in nodes] == ["bank-x", "cw"]
    assert nodes[0]["lookups"] == [
        {
            "kind": "verify",
            "blindIndex": runtime.cipher.blind_index(known).hex(),
            "found": True,
            "county": None,
        }
    ]
    misses = await api.gql(auditor, WHO, {"id": missing})
    assert [e["node"]["principal"] for e in misses["data"]["auditEvents"]["edges"]] == ["bank-y"]

    # the auditor's own question does not record the number it asked about
    asked = [e for e in await entries(runtime) if e["principal"] == "officer"]
    assert len(asked) == 2
    for entry in asked:
        assert known not in str(entry) and missing not in str(entry)
        assert entry["variables"] == {"id": "[redacted]"}
    # nobody else may ask
    partner_asks = await api.gql(partner, WHO, {"id": known})
    assert partner_asks["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await verify_chain(runtime)).ok


async def verify_chain(runtime: Runtime) -> Any:
    async with runtime.sessions() as session:
        return await verify(session, runtime.cipher.keys)


async def test_runs_of_misses_raise_an_alert(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    enumerator = await issue_token(runtime, "partner", "22", principal="enumerator")
    polite = await issue_token(runtime, "partner", "22", principal="polite")
    auditor = await issue_token(runtime, "auditor", "*", principal="officer")
    aliased = (
        "{ "
        + " ".join(
            f'v{n}: verifyRecipient(idNumber: "{id_number()}") {{ isRecipient }}' for n in range(4)
        )
        + " }"
    )
    await api.gql(enumerator, aliased)
    await api.gql(polite, VERIFY, {"id": id_number()})

    alerts = (await api.gql(auditor, ALERTS, window()))["data"]["lookupAlerts"]
    assert [(a["principal"], a["lookups"], a["misses"]) for a in alerts] == [("enumerator", 4, 4)]
    assert alerts[0]["role"] == "partner" and alerts[0]["credentialId"]


async def test_an_auditors_search_by_id_number_is_charged_and_recorded(
    api: Api, runtime: Runtime
) -> None:
    """`auditEvents(lookedUpIdNumber:)` tells whether a person was ever looked up or
    claimed: an answer about a full ID number like verifyRecipient's. Each call is
    charged to the auditor's lookup quota (aliases included, refused whole) and leaves
    the searched person's blind index in the auditor's own entry."""
    known = await submitted(api, runtime)
    unknown = id_number()
    auditor = await issue_token(runtime, "auditor", "*", principal="officer")
    frozen = dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=dt.UTC)
    runtime._quotas = LookupQuotas({"default": Quota(3, 100)}, clock=lambda: frozen)
    for number in (known, unknown):
        assert "errors" not in await api.gql(auditor, WHO, {"id": number})
    both = """query($a: String!, $b: String!) {
      a: auditEvents(lookedUpIdNumber: $a) { edges { cursor } }
      b: auditEvents(lookedUpIdNumber: $b) { edges { cursor } } }"""
    refused = await api.post(auditor, both, {"a": known, "b": unknown})
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # a search without an ID number is no lookup: not charged
    plain = "{ auditEvents(first: 1) { edges { cursor } } }"
    assert "errors" not in await api.gql(auditor, plain)

    log = [e for e in await entries(runtime) if e["principal"] == "officer"]
    assert [e["lookups"] for e in log] == [
        [{"kind": "search", "blind_index": runtime.cipher.blind_index(known).hex(), "found": True}],
        [
            {
                "kind": "search",
                "blind_index": runtime.cipher.blind_index(unknown).hex(),
                "found": False,
            }
        ],
        [],
        [],
    ]
    assert log[2]["outcome"] == "rate_limited"
