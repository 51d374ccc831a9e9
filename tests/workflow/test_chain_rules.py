"""The chain as 民发〔2021〕57号 writes it, through GraphQL, by the roles it names:
refusal without a notice, withdrawal, correction, objections decided, separation
inside the chain, relatives of staff, termination proposed and decided."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import text

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)
from tests.workflow.test_review_chain import (
    ACCEPT,
    ACTIVATE,
    APPROVE,
    INVESTIGATE,
    NOTICE,
    OBJECTION,
    SUBMIT,
    TOWNSHIP,
    code,
    later,
    ok,
    to_notice,
)

STATE = "archiveNo status decidedOn rejectionReasons missingMaterials countyVisitOn"
REJECT = (
    "mutation($a: String!, $r: [RejectionReason!]!, $t: String!) "
    f"{{ rejectApplication(archiveNo: $a, reasons: $r, text: $t) {{ {STATE} }} }}"
)
WITHDRAW = (
    "mutation($a: String!) "
    f'{{ withdrawApplication(archiveNo: $a, reason: "申请人书面撤回") {{ {STATE} }} }}'
)
RETURN = (
    "mutation($a: String!, $m: [String!]!) "
    f"{{ returnForCorrection(archiveNo: $a, missing: $m) {{ {STATE} }} }}"
)
RESUBMIT = f"mutation($a: String!) {{ resubmitApplication(archiveNo: $a) {{ {STATE} }} }}"
OBJECTIONS = (
    "query($a: String!) { household(archiveNo: $a) "
    "{ status objections { id status resolution resolvedBy } } }"
)
DECIDE = (
    "mutation($a: String!, $o: ID!, $r: String!) "
    "{{ {name}(archiveNo: $a, objectionId: $o, reasons: $r) {{ status }} }}"
)
DISMISS = DECIDE.format(name="dismissObjection")
UPHOLD = DECIDE.format(name="upholdObjection")
VISIT = (
    "mutation($a: String!) "
    f'{{ recordCountyVisit(archiveNo: $a, findings: "入户核实，情况属实") {{ {STATE} }} }}'
)
PROPOSE = (
    "mutation($a: String!, $r: TerminationReason!) { proposeTermination(archiveNo: $a, "
    'reason: $r, text: "户籍迁出") { status terminationProposal } }'
)
TERMINATE = (
    "mutation($a: String!, $r: TerminationReason!) { terminateHousehold(archiveNo: $a, "
    'reason: $r, text: "户籍迁出本县") { status terminationReason terminationProposal decidedOn } }'
)
ARCHIVE_DUE = "mutation { archiveDue }"
VISIT_DAY = {"visitedOn": "2026-11-20", "visitors": ["张强"], "findings": "家中无劳动力收入"}


def today() -> str:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date().isoformat()


async def staff(runtime: Runtime) -> tuple[str, str]:
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-zhao")
    reviewer = await issue_token(runtime, "county_reviewer", "220183", principal="cr-sun")
    return worker, reviewer


async def submitted(api: Api, worker: str, **extra: Any) -> str:
    body = await api.gql(worker, SUBMIT, {"input": application(**extra)})
    return str(ok(body, "submitApplication")["archiveNo"])


async def test_refusal_needs_no_notice_and_names_its_reasons(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker, reviewer = await staff(runtime)
    person = id_number()
    archive = await submitted(api, worker, members=[member("HEAD", number=person)])
    reasons = {"r": ["INCOME_ABOVE_LINE", "ASSETS_ABOVE_LIMIT"], "t": "家庭存款超过规定"}
    # not yet accepted: nothing to decide on
    assert code(await api.gql(reviewer, REJECT, {"a": archive, **reasons})) == "CONFLICT"
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    # the township does not refuse; a refusal names at least one reason
    assert code(await api.gql(worker, REJECT, {"a": archive, **reasons})) == "FORBIDDEN"
    empty = await api.gql(reviewer, REJECT, {"a": archive, "r": [], "t": "x"})
    assert code(empty) == "BAD_USER_INPUT"
    refused = ok(await api.gql(reviewer, REJECT, {"a": archive, **reasons}), "rejectApplication")
    assert refused["status"] == "REJECTED"
    assert refused["rejectionReasons"] == ["ASSETS_ABOVE_LIMIT", "INCOME_ABOVE_LINE"]
    assert refused["decidedOn"] == today()
    # the person is free again
    await submitted(api, worker, members=[member("HEAD", number=person)])


async def test_refusal_during_the_notice_waits_for_its_end(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker, reviewer = await staff(runtime)
    archive = await to_notice(api, worker)
    reasons = {"r": ["FALSE_INFORMATION"], "t": "隐瞒收入"}
    early = await api.gql(reviewer, REJECT, {"a": archive, **reasons})
    assert code(early) == "CONFLICT"
    assert "NOTICE until" in early["errors"][0]["message"]
    later(runtime, 7)
    assert ok(await api.gql(reviewer, REJECT, {"a": archive, **reasons}), "rejectApplication")[
        "rejectionReasons"
    ] == ["FALSE_INFORMATION"]


async def test_withdrawal_frees_the_people_and_is_archived(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker, reviewer = await staff(runtime)
    person = id_number()
    archive = await submitted(api, worker, members=[member("HEAD", number=person)])
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    assert code(await api.gql(reviewer, WITHDRAW, {"a": archive})) == "FORBIDDEN"
    withdrawn = ok(await api.gql(worker, WITHDRAW, {"a": archive}), "withdrawApplication")
    assert withdrawn["status"] == "WITHDRAWN"
    assert code(await api.gql(worker, WITHDRAW, {"a": archive})) == "CONFLICT"
    await submitted(api, worker, members=[member("HEAD", number=person)])
    later(runtime, 31)
    assert ok(await api.gql(reviewer, ARCHIVE_DUE), "archiveDue") == [archive]


async def test_correction_waits_and_restarts_acceptance(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker, _ = await staff(runtime)
    archive = await submitted(api, worker)
    missing = ["户口簿复印件", "家庭经济状况核对授权书"]
    waiting = ok(await api.gql(worker, RETURN, {"a": archive, "m": missing}), "returnForCorrection")
    assert waiting["status"] == "AWAITING_CORRECTION"
    assert waiting["missingMaterials"] == missing
    assert code(await api.gql(worker, ACCEPT, {"a": archive})) == "CONFLICT"
    # bounded: at most 20 materials of 200 characters each, none empty
    for bad in (["x"] * 21, ["长" * 201], [" "], []):
        assert code(await api.gql(worker, RETURN, {"a": archive, "m": bad})) == "BAD_USER_INPUT"
    again = ok(await api.gql(worker, RESUBMIT, {"a": archive}), "resubmitApplication")
    assert again["status"] == "SUBMITTED"
    assert again["missingMaterials"] == []
    accepted = await api.gql(
        worker,
        "mutation($a: String!) { acceptApplication(archiveNo: $a) "
        "{ status stageDays { status } reviews { step } } }",
        {"a": archive},
    )
    body = ok(accepted, "acceptApplication")
    assert [r["step"] for r in body["reviews"]] == [
        "SUBMIT",
        "RETURN_FOR_CORRECTION",
        "RESUBMIT",
        "ACCEPT",
    ]
    assert [s["status"] for s in body["stageDays"]] == [
        "SUBMITTED",
        "AWAITING_CORRECTION",
        "SUBMITTED",
        "ACCEPTED",
    ]


async def test_an_upheld_objection_sends_the_case_back(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker, reviewer = await staff(runtime)
    archive = await to_notice(api, worker)
    ok(await api.gql(worker, OBJECTION, {"a": archive}), "recordObjection")
    [objection] = (await api.gql(worker, OBJECTIONS, {"a": archive}))["data"]["household"][
        "objections"
    ]
    decision = {"a": archive, "o": objection["id"], "r": "重新入户调查"}
    # only the county dismisses; a malformed or foreign id is refused before any write
    assert code(await api.gql(worker, DISMISS, decision)) == "FORBIDDEN"
    assert code(await api.gql(worker, UPHOLD, {**decision, "o": "x' OR 1=1"})) == "BAD_USER_INPUT"
    assert code(await api.gql(worker, UPHOLD, {**decision, "o": "0" * 32})) == "NOT_FOUND"
    upheld = ok(await api.gql(worker, UPHOLD, decision), "upholdObjection")
    assert upheld["status"] == "INVESTIGATED"
    after = (await api.gql(worker, OBJECTIONS, {"a": archive}))["data"]["household"]
    assert after["objections"][0]["status"] == "UPHELD"
    assert after["objections"][0]["resolvedBy"] == "cw-zhao"
    assert code(await api.gql(reviewer, DISMISS, decision)) == "CONFLICT"  # decided already
    later(runtime, 7)
    # the old notice does not count: township review and a new seven-day notice again
    assert code(await api.gql(reviewer, APPROVE, {"a": archive})) == "CONFLICT"
    ok(await api.gql(worker, TOWNSHIP, {"a": archive}), "reviewInTownship")
    ok(await api.gql(worker, NOTICE, {"a": archive}), "publishNotice")
    assert code(await api.gql(reviewer, APPROVE, {"a": archive})) == "CONFLICT"
    later(runtime, 14)
    assert (
        ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")["status"]
        == "APPROVED"
    )


async def test_a_dismissed_objection_lets_the_notice_go_on(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker, reviewer = await staff(runtime)
    archive = await to_notice(api, worker)
    ok(await api.gql(worker, OBJECTION, {"a": archive}), "recordObjection")
    [objection] = (await api.gql(worker, OBJECTIONS, {"a": archive}))["data"]["household"][
        "objections"
    ]
    later(runtime, 7)
    blocked = await api.gql(reviewer, APPROVE, {"a": archive})
    assert "objection" in blocked["errors"][0]["message"]
    decision = {"a": archive, "o": objection["id"], "r": "经核实，反映情况不属实"}
    assert ok(await api.gql(reviewer, DISMISS, decision), "dismissObjection")["status"] == "NOTICE"
    dismissed = (await api.gql(reviewer, OBJECTIONS, {"a": archive}))["data"]["household"]
    assert dismissed["objections"][0]["status"] == "DISMISSED"
    assert dismissed["objections"][0]["resolution"] == "经核实，反映情况不属实"
    ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")


async def test_the_township_reviewer_never_approves_the_same_case(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    # one person holding both credentials
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="wang")
    same = await issue_token(runtime, "county_reviewer", "220183", principal="wang")
    other = await issue_token(runtime, "county_reviewer", "220183", principal="cr-liu")
    archive = await to_notice(api, worker)
    later(runtime, 7)
    refused = await api.gql(same, APPROVE, {"a": archive})
    assert code(refused) == "CONFLICT"
    assert "recorded by you" in refused["errors"][0]["message"]
    ok(await api.gql(other, APPROVE, {"a": archive}), "approveApplication")


async def test_relatives_of_staff_need_the_countys_own_visit(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker, reviewer = await staff(runtime)
    people = [member("HEAD", income="0.00", staffRelative=True)]
    archive = await submitted(api, worker, members=people)
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    ok(await api.gql(worker, INVESTIGATE, {"a": archive, "i": VISIT_DAY}), "recordInvestigation")
    # the county visits after the township's review, before the decision
    assert code(await api.gql(reviewer, VISIT, {"a": archive})) == "CONFLICT"
    ok(await api.gql(worker, TOWNSHIP, {"a": archive}), "reviewInTownship")
    ok(await api.gql(worker, NOTICE, {"a": archive}), "publishNotice")
    later(runtime, 7)
    blocked = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(blocked) == "CONFLICT"
    assert "relative of staff" in blocked["errors"][0]["message"]
    assert code(await api.gql(worker, VISIT, {"a": archive})) == "FORBIDDEN"
    visited = ok(await api.gql(reviewer, VISIT, {"a": archive}), "recordCountyVisit")
    assert visited["status"] == "NOTICE"
    assert visited["countyVisitOn"] is not None
    ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    members = await api.gql(
        reviewer,
        "query($a: String!) { household(archiveNo: $a) { members { staffRelative } } }",
        {"a": archive},
    )
    assert members["data"]["household"]["members"] == [{"staffRelative": True}]


async def test_termination_is_proposed_by_the_township_and_decided_by_the_county(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    worker, reviewer = await staff(runtime)
    archive = await to_notice(api, worker)
    later(runtime, 7)
    ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    moved = {"a": archive, "r": "MOVED_AWAY"}
    assert code(await api.gql(reviewer, TERMINATE, moved)) == "CONFLICT"  # APPROVED: not yet
    ok(await api.gql(reviewer, ACTIVATE, {"a": archive}), "activateHousehold")
    assert code(await api.gql(reviewer, PROPOSE, moved)) == "FORBIDDEN"
    proposed = ok(await api.gql(worker, PROPOSE, moved), "proposeTermination")
    assert proposed == {"status": "ACTIVE", "terminationProposal": "MOVED_AWAY"}
    assert code(await api.gql(worker, TERMINATE, moved)) == "FORBIDDEN"
    ended = ok(await api.gql(reviewer, TERMINATE, moved), "terminateHousehold")
    assert ended["status"] == "TERMINATED"
    assert ended["terminationReason"] == "MOVED_AWAY"
    assert ended["terminationProposal"] is None
    assert ended["decidedOn"] is not None


async def test_out_of_region_the_new_steps_find_nothing_and_the_audit_keeps_no_text(
    api: Api, runtime: Runtime
) -> None:
    """Every new step loads the archive through the region scope (NOT_FOUND elsewhere,
    nothing changed), and its entry keeps codes and ids, never the free text."""
    await load_regions(runtime)
    worker, _ = await staff(runtime)
    archive = await to_notice(api, worker)
    ok(await api.gql(worker, OBJECTION, {"a": archive}), "recordObjection")
    [objection] = (await api.gql(worker, OBJECTIONS, {"a": archive}))["data"]["household"][
        "objections"
    ]
    far_worker = await issue_token(runtime, "caseworker", "520121100")
    far_reviewer = await issue_token(runtime, "county_reviewer", "520121")
    number = id_number()
    secret = f"举报人李四（{number}）"
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        (far_reviewer, REJECT, {"a": archive, "r": ["OTHER"], "t": secret}),
        (far_worker, WITHDRAW, {"a": archive}),
        (far_worker, RETURN, {"a": archive, "m": [secret]}),
        (far_worker, RESUBMIT, {"a": archive}),
        (far_reviewer, DISMISS, {"a": archive, "o": objection["id"], "r": secret}),
        (far_worker, UPHOLD, {"a": archive, "o": objection["id"], "r": secret}),
        (far_reviewer, VISIT, {"a": archive}),
        (far_worker, PROPOSE, {"a": archive, "r": "DEATH"}),
        (far_reviewer, TERMINATE, {"a": archive, "r": "DEATH"}),
    ]
    for token, document, variables in attempts:
        assert code(await api.gql(token, document, variables)) == "NOT_FOUND", document
    unchanged = (await api.gql(worker, OBJECTIONS, {"a": archive}))["data"]["household"]
    assert unchanged["status"] == "NOTICE"
    assert unchanged["objections"][0]["status"] == "OPEN"
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT entry FROM audit_entries"))).scalars().all()
    kept = [json.loads(r) for r in rows if objection["id"] in r]
    assert kept, "the objection id is plain: kept in the entry"
    for row in rows:
        assert number not in row
        assert "举报人" not in row
