"""`importArchives`: a county reviewer's register through the GraphQL multipart request,
in the request's own transaction, within the reviewer's region, each ID number's claim
check charged to the lookup quota (issue 16). Both backends."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from gateway.quota import Quota
from gateway.runtime import Runtime
from store import imports as import_store
from tests.api.documents_helpers import multipart_parts
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import application, issue_token, load_regions, member
from tests.workflow.test_import import HEADERS, good, row

IMPORT = """mutation($f: Upload!, $d: Boolean!) { importArchives(file: $f, dryRun: $d) {
  dryRun rows households imported alreadyImported refused archiveNos
  errors { row column kind message } errorsByKind { kind label count } } }"""
LEGACY = """query($l: String!) { households(legacyArchiveNo: $l) {
  totalCount edges { node { archiveNo legacyArchiveNo status } } } }"""


def register(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows([r[h] for h in HEADERS] for r in rows)
    return out.getvalue().encode("utf-8-sig")


async def send(api: Api, token: str, data: bytes, *, dry_run: bool) -> dict[str, Any]:
    fields, files = multipart_parts(IMPORT, {"d": dry_run}, {"0": ("登记表.csv", data, "text/csv")})
    response = await api.client.post(
        "/graphql", data=fields, files=files, headers={"authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    return body


async def test_a_reviewer_imports_a_register_once(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183", principal="cr-gu")
    data = register([*good("Z-01"), *good("Z-02"), row("Z-03", 月收入="三百")])
    dry = await send(api, reviewer, data, dry_run=True)
    assert "errors" not in dry, dry
    checked = dry["data"]["importArchives"]
    assert (checked["imported"], checked["refused"], checked["archiveNos"]) == (2, 1, [])
    assert checked["errors"][0]["column"] == "月收入"
    nothing = await api.gql(reviewer, LEGACY, {"l": "Z-01"})
    assert nothing["data"]["households"]["totalCount"] == 0  # a dry run writes nothing

    done = (await send(api, reviewer, data, dry_run=False))["data"]["importArchives"]
    assert (done["imported"], done["refused"], len(done["archiveNos"])) == (2, 1, 2)
    found = await api.gql(reviewer, LEGACY, {"l": "Z-01"})
    [node] = [e["node"] for e in found["data"]["households"]["edges"]]
    assert node["legacyArchiveNo"] == "Z-01", found  # that archive, not the other imported
    # paid households come in held (暂停) until a second county reviewer confirms them
    assert node["archiveNo"] in done["archiveNos"] and node["status"] == "SUSPENDED"
    resume = (
        'mutation($a: String!) { resumeHousehold(archiveNo: $a, reason: "核对无误") { status } }'
    )
    own = await api.gql(reviewer, resume, {"a": node["archiveNo"]})
    assert own["errors"][0]["extensions"]["code"] == "CONFLICT"
    second = await issue_token(runtime, "county_reviewer", "220183", principal="cr-xu")
    confirmed = await api.gql(second, resume, {"a": node["archiveNo"]})
    assert confirmed["data"]["resumeHousehold"]["status"] == "ACTIVE", confirmed
    again = (await send(api, reviewer, data, dry_run=False))["data"]["importArchives"]
    assert (again["imported"], again["alreadyImported"]) == (0, 2)
    # one audit entry per request, the file's contents nowhere in it
    mine = [e for e in await entries(runtime) if e["principal"] == "cr-gu"]
    assert mine and all("王建国" not in str(e) and "幸福路" not in str(e) for e in mine)
    imported = [e for e in mine if set(done["archiveNos"]) <= set(e.get("archive_nos") or [])]
    assert len(imported) == 1


async def test_only_a_reviewer_imports_and_only_into_its_county(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    data = register(good("Y-01"))
    worker = await issue_token(runtime, "caseworker", "220183100")
    refused = await send(api, worker, data, dry_run=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    elsewhere = await issue_token(runtime, "county_reviewer", "220182")
    body = (await send(api, elsewhere, data, dry_run=False))["data"]["importArchives"]
    assert (body["imported"], body["refused"]) == (0, 1)
    assert body["errors"][0]["column"] == "村(居)代码"  # not in its region


async def test_each_claim_check_is_charged_to_the_lookup_quota(api: Api, runtime: Runtime) -> None:
    """A register is a batch of "is this person held anywhere?" questions: a file with
    more people than the reviewer's quota allows is refused whole, writing nothing."""
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    runtime.quotas.quotas["county_reviewer"] = Quota(per_minute=3, per_day=100)
    try:
        body = await send(api, reviewer, register([*good("X-01"), *good("X-02")]), dry_run=True)
    finally:
        del runtime.quotas.quotas["county_reviewer"]
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED", body
    assert (await api.gql(reviewer, LEGACY, {"l": "X-01"}))["data"]["households"]["totalCount"] == 0


async def test_what_an_import_learned_of_claims_is_in_its_audit_entry(
    api: Api, runtime: Runtime
) -> None:
    """A person found held elsewhere is recorded as a found claim, and a dry run's free
    ones as probes: the misuse rules count both, as for submissions."""
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183", principal="cr-dry")
    worker = await issue_token(runtime, "caseworker", "220183100")
    held = good("H-00")[0]["身份证号"]
    submit = "mutation($i: ApplicationInput!) { submitApplication(input: $i) { archiveNo } }"
    taken = application(members=[member("HEAD", number=held)])
    assert "errors" not in await api.gql(worker, submit, {"i": taken})
    file = register([row("H-01", 身份证号=held), *good("H-02")])
    body = (await send(api, reviewer, file, dry_run=True))["data"]["importArchives"]
    assert body["refused"] == 1 and body["errors"][0]["kind"] == "CLAIMED"
    [entry] = [e for e in await entries(runtime) if e["principal"] == "cr-dry"]
    claims = [item for item in entry["lookups"] if item["kind"] == "claim"]
    assert len(claims) == 3
    assert sum(1 for item in claims if item["found"]) == 1
    assert sum(1 for item in claims if item.get("probe")) == 2


# SQLite's write transactions run one at a time already
@pytest.mark.postgres_only
async def test_an_import_into_a_county_another_import_is_writing_waits_its_turn(
    api: Api, runtime: Runtime
) -> None:
    """Two imports into one county, each in several statements, could take the county's
    tally rows in opposite orders and deadlock: the second is held off with a clear
    RATE_LIMITED (retry later) and writes nothing; after the first, it imports."""
    await load_regions(runtime)
    reviewer = await issue_token(runtime, "county_reviewer", "220183", principal="cr-gu")
    data = register([*good("W-01"), *good("W-02")])
    async with runtime.sessions.begin() as other:  # another import writing into 220183
        assert await import_store.claim_counties(other, ["220183"], wait=False)
        busy = await send(api, reviewer, data, dry_run=False)
        assert busy["errors"][0]["extensions"]["code"] == "RATE_LIMITED", busy
        assert "另有档案正在导入" in busy["errors"][0]["message"]
        # a dry run writes nothing, so it is not held off
        dry = await send(api, reviewer, data, dry_run=True)
        assert dry["data"]["importArchives"]["imported"] == 2, dry
    nothing = await api.gql(reviewer, LEGACY, {"l": "W-01"})
    assert nothing["data"]["households"]["totalCount"] == 0
    done = (await send(api, reviewer, data, dry_run=False))["data"]["importArchives"]
    assert (done["imported"], len(done["archiveNos"])) == (2, 2)
