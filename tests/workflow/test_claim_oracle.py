"""Submitting an application is an ID oracle ("is this person claimed anywhere?"):
each refusal is audited with the person's blind index and the claiming county, the
caller is not told the county, and runs of conflicts raise the lookup alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain.idnumber import make_id_number
from gateway.quota import DEFAULT_QUOTAS, LookupQuotas, Quota
from gateway.runtime import Runtime
from resolvers import applications
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

FROZEN = dt.datetime(2026, 3, 2, 9, 30, 5, tzinfo=dt.UTC)  # one quota minute for the test
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


def fail_after_submitting(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that checks its claims and then fails, so that all is rolled back: the
    attacker's way to ask "is anyone of these claimed?" and keep nothing. Which failure
    does it does not matter; this one stands for all of them."""

    submit = applications.store_submit

    async def broken(*args: Any, **kwargs: Any) -> object:
        await submit(*args, **kwargs)
        raise RuntimeError("a later step failed")

    monkeypatch.setattr(applications, "store_submit", broken)


async def test_a_probe_rolled_back_by_a_later_failure_is_still_recorded(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim check passes, a later step fails, all is rolled back: the entry keeps
    which person the caller learned to be unclaimed, as a probe that counts as a miss."""
    await load_regions(runtime)
    prober = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-probe")
    number = id_number()
    fail_after_submitting(monkeypatch)
    body = await api.gql(prober, SUBMIT, {"input": application(members=[member(number=number)])})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "INTERNAL"
    entry = [e for e in await entries(runtime) if e["principal"] == "cw-probe"][-1]
    assert entry["lookups"] == [
        {
            "kind": "claim",
            "blind_index": runtime.cipher.blind_index(number).hex(),
            "found": False,
            "probe": True,
        }
    ]


async def test_a_write_cannot_be_paired_with_a_failing_one(api: Api, runtime: Runtime) -> None:
    """The tester's document: a submission and a second root field that always fails, so
    the request rolls back. One mutation field per request: refused before any check."""
    await load_regions(runtime)
    prober = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-pair")
    paired = """mutation($a: ApplicationInput!) { a: submitApplication(input: $a) { archiveNo }
      b: submitApplication(input: {villageCode: "x", members: []}) { archiveNo } }"""
    body = await api.gql(prober, paired, {"a": application(members=[member()])})
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "one mutation field" in error["message"]
    # aliases of one field and fragment uses count the same
    twice = """mutation($a: ApplicationInput!) { ...S ...S }
      fragment S on Mutation { submitApplication(input: $a) { archiveNo } }"""
    body = await api.gql(prober, twice, {"a": application(members=[member()])})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    log = [e for e in await entries(runtime) if e["principal"] == "cw-pair"]
    assert [(e["outcome"], e["lookups"]) for e in log] == [("invalid", [])] * 2


def candidates(masked_tail: str = "8803", county: str = "220183") -> list[str]:
    """Every ID number a masked `220183********8803` can be: the birth dates whose check
    digit comes out right (the tester's list, about 2,900 of them; here fewer years)."""
    sequence, check = int(masked_tail[:3]), masked_tail[3]
    found = []
    day = dt.date(1960, 1, 1)
    while day < dt.date(2000, 1, 1):
        number = make_id_number(county, day, sequence)
        if number[-1] == check:
            found.append(number)
        day += dt.timedelta(days=1)
    return found


async def test_bisecting_a_masked_id_through_submissions_is_throttled_and_alerts(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tester's attack: candidates 20 at a time as one application's members, each
    request rolled back. Every ID checked is charged to the caseworker's lookup quota
    (the shipped `default` quota), the request that does not fit is refused whole
    before any check, and the probes raise `lookupAlerts` at its default threshold."""
    await load_regions(runtime)
    pool = candidates()
    assert len(pool) > 1000
    secret = pool[len(pool) // 2]
    owner = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-owner")
    held = await api.gql(owner, SUBMIT, {"input": application(members=[member(number=secret)])})
    assert "errors" not in held, held

    runtime._quotas = LookupQuotas(dict(DEFAULT_QUOTAS), clock=lambda: FROZEN)
    per_minute = DEFAULT_QUOTAS["default"].per_minute
    prober = await issue_token(runtime, "caseworker", "520121100", principal="cw-bisect")
    auditor = await issue_token(runtime, "auditor", "*", principal="officer")
    fail_after_submitting(monkeypatch)

    answers: list[str] = []
    statuses: list[int] = []
    # the real person last in line, so that every group before it is a probe
    groups = [pool[i : i + 20] for i in range(0, len(pool), 20) if secret not in pool[i : i + 20]]
    for group in [*groups[: per_minute // 20 + 2], [secret, *pool[:19]]]:
        heads = [member("HEAD", number=group[0])]
        rest = [member("CHILD", number=n, name="李四", phone=None) for n in group[1:]]
        probe = application(village=OTHER_COUNTY_VILLAGE, members=heads + rest)
        response = await api.client.post(
            "/graphql",
            json={"query": SUBMIT, "variables": {"input": probe}},
            headers={"authorization": f"Bearer {prober}"},
        )
        statuses.append(response.status_code)
        answers.append(response.json()["errors"][0]["extensions"]["code"])
    allowed = per_minute // 20
    assert answers[:allowed] == ["INTERNAL"] * allowed  # checked, free, rolled back
    # over the quota: refused whole, the group holding the real person included
    assert answers[allowed:] == ["RATE_LIMITED"] * (len(answers) - allowed)
    assert statuses[allowed:] == [429] * (len(answers) - allowed)

    log = [e for e in await entries(runtime) if e["principal"] == "cw-bisect"]
    checked = [item for e in log for item in e["lookups"]]
    assert len(checked) == per_minute and all(i["probe"] for i in checked)
    assert all(e["lookups"] == [] for e in log[allowed:])
    assert [e["outcome"] for e in log[allowed:]] == ["rate_limited"] * (len(log) - allowed)
    for number in pool[:40]:
        assert number not in str(log)

    default_threshold = ALERTS.replace(", threshold: 3", "")
    alerts = (await api.gql(auditor, default_threshold, window()))["data"]["lookupAlerts"]
    flagged = {a["principal"]: (a["lookups"], a["misses"]) for a in alerts}
    assert flagged == {"cw-bisect": (per_minute, per_minute)}


async def test_a_joining_member_is_charged_like_an_application(api: Api, runtime: Runtime) -> None:
    """reportChange adding a member checks its ID for a claim: charged the same way."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-join")
    runtime._quotas = LookupQuotas({"default": Quota(3, 100)}, clock=lambda: FROZEN)
    body = await api.gql(worker, SUBMIT, {"input": application()})
    assert "errors" not in body, body  # three members: the minute's quota used up
    archive = body["data"]["submitApplication"]["archiveNo"]
    join = """mutation($a: String!, $c: ChangeInput!) {
      reportChange(archiveNo: $a, change: $c) { archiveNo } }"""
    change = {
        "kind": "MEMBER_JOINED",
        "reason": "新生儿",
        "newMember": member("CHILD", name="王小明", birth=dt.date(2020, 1, 2), phone=None),
    }
    refused = await api.post(worker, join, {"a": archive, "c": change})
    assert refused.status_code == 429, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    log = [e for e in await entries(runtime) if e["principal"] == "cw-join"]
    assert len(log[0]["lookups"]) == 3 and log[-1]["lookups"] == []
