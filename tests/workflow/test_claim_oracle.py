"""Submitting an application is an ID oracle ("is this person claimed anywhere?"):
each refusal is audited with the person's blind index and the claiming county, the
caller is not told the county, and runs of conflicts raise the lookup alert."""

from __future__ import annotations

import pytest

from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.audit.test_lookups import ALERTS, window
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    OTHER_COUNTY_VILLAGE,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

pytestmark = pytest.mark.both_paths

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"


async def test_a_refused_claim_is_audited_by_blind_index_and_county(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    jilin = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-jilin")
    prober = await issue_token(runtime, "caseworker", "520121100", principal="cw-prober")
    auditor = await issue_token(runtime, "auditor", "*", principal="officer")
    claimed = [id_number() for _ in range(3)]
    for number in claimed:
        body = await api.gql(
            jilin, SUBMIT, {"input": application(members=[member("HEAD", number=number)])}
        )
        assert "errors" not in body, body

    for number in claimed:
        probe = application(village=OTHER_COUNTY_VILLAGE, members=[member("HEAD", number=number)])
        refused = await api.gql(prober, SUBMIT, {"input": probe})
        error = refused["errors"][0]
        assert error["extensions"]["code"] == "CONFLICT"
        assert "220183" not in error["message"] and "22" not in error["message"].split()
        assert refused["data"] is None

    log = [e for e in await entries(runtime) if e["principal"] == "cw-prober"]
    assert [e["outcome"] for e in log] == ["refused"] * 3
    for entry, number in zip(log, claimed, strict=True):
        assert entry["lookups"] == [
            {
                "kind": "claim",
                "blind_index": runtime.cipher.blind_index(number).hex(),
                "found": True,
                "county": "220183",
            }
        ]
        assert number not in str(entry)

    alerts = (await api.gql(auditor, ALERTS, window()))["data"]["lookupAlerts"]
    assert [(a["principal"], a["conflicts"], a["misses"]) for a in alerts] == [("cw-prober", 3, 0)]


async def test_a_probe_rolled_back_by_a_later_failure_is_still_recorded(
    api: Api, runtime: Runtime
) -> None:
    """The submission succeeds, a later field fails, all is rolled back: the entry keeps
    which person the caller learned to be unclaimed."""
    await load_regions(runtime)
    prober = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-probe")
    number = id_number()
    probe = application(members=[member("HEAD", number=number)])
    both = """mutation($input: ApplicationInput!) {
      a: submitApplication(input: $input) { archiveNo }
      b: acceptApplication(archiveNo: "220183100001-2026-999999") { archiveNo } }"""
    body = await api.gql(prober, both, {"input": probe})
    assert body["data"] is None or body.get("errors")
    entry = [e for e in await entries(runtime) if e["principal"] == "cw-probe"][-1]
    assert entry["lookups"] == [
        {"kind": "claim", "blind_index": runtime.cipher.blind_index(number).hex(), "found": False}
    ]
