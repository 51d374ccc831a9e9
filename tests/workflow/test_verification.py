"""Economic-status verification (核对) end to end: a caseworker sends a household to two
departments, each department's partner sees only its own request and answers, a
contradiction holds up approval until a county reviewer overrides it, and every step
is in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from audit.chain import verify
from domain.errors import InvalidInput
from domain.verification import mask_id_number
from gateway.runtime import Runtime
from store.models import AuditEntry, Member
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions
from tests.workflow.test_review_chain import APPROVE, SUBMIT, code, later, ok, to_notice

REQUEST = """mutation($a: String!, $d: [Department!]!, $c: String!) {
  requestVerification(archiveNo: $a, departments: $d, consentDocument: $c) {
    id department status dueOn overdue requestedBy } }"""
QUEUE = """query($s: VerificationStatus) { verificationRequests(status: $s, first: 10) {
  edges { cursor node { id department status dueOn requestedAt
    subjects { id name idNumber relation } } }
  pageInfo { hasNextPage endCursor } } }"""
ANSWER = """mutation($r: ID!, $f: [FindingInput!]!) { answerVerification(requestId: $r, findings: $f) {
  id status subjects { idNumber name } } }"""
ANSWERS = "mutation($a: [AnswerInput!]!) { answerVerifications(answers: $a) }"
ARCHIVE = """query($a: String!) { household(archiveNo: $a) { verifications {
  id department status overdue answeredBy overrideReason
  findings { memberPosition answered monthlyWage registrationMatches }
  discrepancies { kind memberPosition declared found } } } }"""
OVERRIDE = """mutation($r: ID!, $why: String!) { overrideVerification(requestId: $r, reason: $why) {
  status overrideReason overrideBy discrepancies { kind } } }"""
HOUSEHOLD = "query($a: String!) { household(archiveNo: $a) { archiveNo } }"
WHO = """query($id: String!) { auditEvents(lookedUpIdNumber: $id) { edges { node {
  principal lookups { kind } } } } }"""
CONSENT = "SQ-2026-0042"


def queue_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["verificationRequests"]["edges"]]


async def member_ids(runtime: Runtime, archive_no: str) -> dict[str, str]:
    """ID number -> name of the household's members, opened as the archive holds them."""
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(Member).where(Member.archive_no == archive_no))).all()
        return {
            runtime.cipher.decrypt(
                m.id_number_enc, table="members", column="id_number", row_id=m.id
            ): runtime.cipher.decrypt(m.name_enc, table="members", column="name", row_id=m.id)
            for m in rows
        }


@pytest.fixture
async def exchange(api: Api, runtime: Runtime) -> dict[str, Any]:
    return await start_exchange(api, runtime)


async def start_exchange(api: Api, runtime: Runtime) -> dict[str, Any]:
    """A household in NOTICE sent to public security and human resources, with the
    partner credentials of both, and of others who must see nothing."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-zhao")
    reviewer = await issue_token(runtime, "county_reviewer", "220183", principal="cr-qian")
    archive = await to_notice(api, worker)
    partners = {
        name: await issue_token(runtime, "partner", scope, principal=name, department=department)
        for name, scope, department in (
            ("gongan", "22", "PUBLIC_SECURITY"),
            ("renshe", "2201", "HUMAN_RESOURCES"),
            ("gongan-gz", "52", "PUBLIC_SECURITY"),  # the same department, another province
            ("shuiwu", "22", "TAX"),  # a department not asked
            ("nodept", "22", None),  # a partner credential bound to no department
        )
    }
    requested = ok(
        await api.gql(
            worker,
            REQUEST,
            {"a": archive, "d": ["PUBLIC_SECURITY", "HUMAN_RESOURCES"], "c": CONSENT},
        ),
        "requestVerification",
    )
    return {
        "archive": archive,
        "worker": worker,
        "reviewer": reviewer,
        "partners": partners,
        "requested": requested,
    }


async def test_the_whole_exchange(api: Api, runtime: Runtime, exchange: dict[str, Any]) -> None:
    archive, worker, reviewer = exchange["archive"], exchange["worker"], exchange["reviewer"]
    partners = exchange["partners"]
    requested = exchange["requested"]
    assert sorted(r["department"] for r in requested) == ["HUMAN_RESOURCES", "PUBLIC_SECURITY"]
    assert {r["status"] for r in requested} == {"PENDING"}
    assert {r["overdue"] for r in requested} == {False}
    assert {r["requestedBy"] for r in requested} == {"cw-zhao"}
    twice = {"a": archive, "d": ["TAX", "HUMAN_RESOURCES"], "c": CONSENT}
    assert code(await api.gql(worker, REQUEST, twice)) == "CONFLICT"  # HR is still asked
    people = await member_ids(runtime, archive)

    # each department sees its own request, with the clear ID numbers and names
    seen = {}
    for name, department in (("gongan", "PUBLIC_SECURITY"), ("renshe", "HUMAN_RESOURCES")):
        queue = queue_of(await api.gql(partners[name], QUEUE, {"s": "PENDING"}))
        assert [q["department"] for q in queue] == [department], name
        subjects = queue[0]["subjects"]
        assert {s["idNumber"]: s["name"] for s in subjects} == people
        assert [s["relation"] for s in subjects] == ["HEAD", "SPOUSE"]
        seen[name] = queue[0]
    # the other department, the same department elsewhere, and no department: nothing
    for name in ("shuiwu", "gongan-gz", "nodept"):
        assert queue_of(await api.gql(partners[name], QUEUE, {})) == [], name

    # public security answers: registration matches, no vehicles; human resources finds
    # a wage the head did not declare
    gongan, renshe = seen["gongan"], seen["renshe"]
    answered = ok(
        await api.gql(
            partners["gongan"],
            ANSWER,
            {
                "r": gongan["id"],
                "f": [
                    {"subjectId": s["id"], "registrationMatches": True, "vehicleCount": 0}
                    for s in gongan["subjects"]
                ],
            },
        ),
        "answerVerification",
    )
    assert answered["status"] == "ANSWERED"
    assert {s["idNumber"] for s in answered["subjects"]} == {mask_id_number(n) for n in people}
    wages = ["2000.00", "100.00"]  # head declared 0.00, spouse 100.00
    ok(
        await api.gql(
            partners["renshe"],
            ANSWER,
            {
                "r": renshe["id"],
                "f": [
                    {"subjectId": s["id"], "monthlyWage": w}
                    for s, w in zip(renshe["subjects"], wages, strict=True)
                ],
            },
        ),
        "answerVerification",
    )
    # a second answer is a conflict
    again = await api.gql(
        partners["gongan"],
        ANSWER,
        {"r": gongan["id"], "f": [{"subjectId": s["id"]} for s in gongan["subjects"]]},
    )
    assert code(again) == "CONFLICT", again

    # answered: the same partner now sees the subjects masked
    after = queue_of(await api.gql(partners["gongan"], QUEUE, {}))
    assert [q["status"] for q in after] == ["ANSWERED"]
    assert {s["idNumber"] for s in after[0]["subjects"]} == {mask_id_number(n) for n in people}
    assert not set(people.values()) & {s["name"] for s in after[0]["subjects"]}
    assert queue_of(await api.gql(partners["gongan"], QUEUE, {"s": "PENDING"})) == []

    # the archive shows both answers and the contradiction
    views = ok(await api.gql(worker, ARCHIVE, {"a": archive}), "household")["verifications"]
    by_department = {v["department"]: v for v in views}
    assert by_department["PUBLIC_SECURITY"]["discrepancies"] == []
    assert by_department["PUBLIC_SECURITY"]["answeredBy"] == "gongan"
    assert by_department["HUMAN_RESOURCES"]["discrepancies"] == [
        {"kind": "INCOME", "memberPosition": 0, "declared": "0.00", "found": "2000.00"}
    ]
    assert by_department["HUMAN_RESOURCES"]["findings"][0]["monthlyWage"] == "2000.00"

    # the contradiction holds approval up until a county reviewer overrides it
    later(runtime, 7)
    held = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(held) == "CONFLICT", held
    assert "HUMAN_RESOURCES" in held["errors"][0]["message"]
    hr_id = by_department["HUMAN_RESOURCES"]["id"]
    why = "工资为临时劳务收入，已核实终止"
    assert code(await api.gql(worker, OVERRIDE, {"r": hr_id, "why": why})) == "FORBIDDEN"
    overridden = ok(
        await api.gql(reviewer, OVERRIDE, {"r": hr_id, "why": why}), "overrideVerification"
    )
    assert overridden["overrideReason"] == why
    assert overridden["overrideBy"] == "cr-qian"
    approved = ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    assert approved["status"] == "APPROVED"

    # every step left its entry; every clear ID number served is recorded by blind index
    log = await entries(runtime)
    served = [
        e
        for e in log
        if e["principal"] in {"gongan", "renshe"} and e.get("operation_type") == "query"
    ]
    clear_reads = [e for e in served if e.get("lookups")]
    assert len(clear_reads) == 2  # the first read of each department's pending request
    for entry in clear_reads:
        assert {item["kind"] for item in entry["lookups"]} == {"verification"}
        assert len(entry["lookups"]) == len(people)
        assert not set(people) & set(str(entry))  # the blind index, never the number
    indexes = {
        runtime.cipher.blind_index(number).hex(): number for number in people
    }  # who saw whose clear ID number is answerable from the log
    for entry in clear_reads:
        assert {item["blind_index"] for item in entry["lookups"]} == set(indexes)
        assert archive in entry["archive_nos"]
    auditor = await issue_token(runtime, "auditor", "*", principal="audit-sun")
    who = await api.gql(auditor, WHO, {"id": next(iter(people))})
    saw = {e["node"]["principal"] for e in who["data"]["auditEvents"]["edges"]}
    assert {"gongan", "renshe"} <= saw, who
    principals = [e["principal"] for e in log]
    for name in ("gongan", "renshe", "shuiwu", "gongan-gz", "nodept", "cw-zhao", "cr-qian"):
        assert name in principals, name
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok


async def test_a_pending_request_holds_approval_and_can_be_withdrawn(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    archive, reviewer = exchange["archive"], exchange["reviewer"]
    later(runtime, 7)
    held = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(held) == "CONFLICT"
    assert "pending" in held["errors"][0]["message"]
    for request in exchange["requested"]:
        withdrawn = ok(
            await api.gql(reviewer, OVERRIDE, {"r": request["id"], "why": "部门逾期未复"}),
            "overrideVerification",
        )
        assert withdrawn["status"] == "WITHDRAWN"
    # withdrawn: the department's partner no longer sees the subjects in clear
    queue = queue_of(await api.gql(exchange["partners"]["gongan"], QUEUE, {}))
    assert [q["status"] for q in queue] == ["WITHDRAWN"]
    assert all("*" in s["idNumber"] for s in queue[0]["subjects"])
    late = await api.gql(
        exchange["partners"]["gongan"],
        ANSWER,
        {"r": queue[0]["id"], "f": [{"subjectId": s["id"]} for s in queue[0]["subjects"]]},
    )
    assert code(late) == "CONFLICT"
    ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")


async def test_attackers_get_nothing(api: Api, runtime: Runtime, exchange: dict[str, Any]) -> None:
    partners = exchange["partners"]
    gongan = queue_of(await api.gql(partners["gongan"], QUEUE, {}))[0]
    findings = [{"subjectId": s["id"]} for s in gongan["subjects"]]
    # another department's request id, and the same department out of scope: NOT_FOUND,
    # exactly as for an id that does not exist
    for name in ("renshe", "gongan-gz", "nodept"):
        body = await api.gql(partners[name], ANSWER, {"r": gongan["id"], "f": findings})
        assert code(body) == "NOT_FOUND", (name, body)
    missing = await api.gql(partners["renshe"], ANSWER, {"r": "0" * 32, "f": findings})
    assert code(missing) == "NOT_FOUND"
    # a batch over 500 is refused before anything is written
    batch = [{"requestId": gongan["id"], "findings": findings}] * 501
    assert code(await api.gql(partners["gongan"], ANSWERS, {"a": batch})) == "BAD_USER_INPUT"
    # a batch with one bad answer records none of them (all or nothing)
    renshe = queue_of(await api.gql(partners["renshe"], QUEUE, {}))[0]
    mixed = [
        {
            "requestId": renshe["id"],
            "findings": [{"subjectId": s["id"]} for s in renshe["subjects"]],
        },
        {"requestId": gongan["id"], "findings": findings},
    ]
    assert code(await api.gql(partners["renshe"], ANSWERS, {"a": mixed})) == "NOT_FOUND"
    still = queue_of(await api.gql(partners["renshe"], QUEUE, {}))
    assert [q["status"] for q in still] == ["PENDING"]
    # the partner path never reaches the archive
    household = await api.gql(partners["gongan"], HOUSEHOLD, {"a": exchange["archive"]})
    assert code(household) == "FORBIDDEN"
    households = await api.gql(partners["gongan"], "{ households { edges { cursor } } }")
    assert code(households) == "FORBIDDEN"
    # partners do not request, case staff do not answer
    request = {"a": exchange["archive"], "d": ["TAX"], "c": CONSENT}
    assert code(await api.gql(partners["gongan"], REQUEST, request)) == "FORBIDDEN"
    answer = {"r": gongan["id"], "f": findings}
    assert code(await api.gql(exchange["worker"], ANSWER, answer)) == "FORBIDDEN"


async def test_requests_need_an_accepted_application_and_bounded_departments(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    archive = ok(await api.gql(worker, SUBMIT, {"input": application()}), "submitApplication")[
        "archiveNo"
    ]
    early = await api.gql(worker, REQUEST, {"a": archive, "d": ["TAX"], "c": CONSENT})
    assert code(early) == "CONFLICT"
    twice = await api.gql(worker, REQUEST, {"a": archive, "d": ["TAX", "TAX"], "c": CONSENT})
    assert code(twice) == "BAD_USER_INPUT"
    blank = await api.gql(worker, REQUEST, {"a": archive, "d": ["TAX"], "c": " "})
    assert code(blank) == "BAD_USER_INPUT"


async def test_a_department_is_bound_only_to_partner_credentials(runtime: Runtime) -> None:
    with pytest.raises(InvalidInput):
        await issue_token(runtime, "caseworker", "22", department="TAX")
    with pytest.raises(InvalidInput):
        await issue_token(runtime, "partner", "22", department="POLICE")


async def test_odd_findings_and_ids_are_refused_cleanly_and_kept_out_of_the_audit(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    # found in review: a NaN figure reached `value < 0` and became INTERNAL, and a
    # requestId of any text up to 64 characters was kept verbatim in the audit log
    partners = exchange["partners"]
    gongan = queue_of(await api.gql(partners["gongan"], QUEUE, {}))[0]
    for odd in ("NaN", "sNaN", "Infinity", "-Infinity"):
        findings = [{"subjectId": s["id"], "deposits": odd} for s in gongan["subjects"]]
        body = await api.gql(partners["gongan"], ANSWER, {"r": gongan["id"], "f": findings})
        assert code(body) == "BAD_USER_INPUT", (odd, body)
    assert [q["status"] for q in queue_of(await api.gql(partners["gongan"], QUEUE, {}))] == [
        "PENDING"
    ]
    pasted = "王小明 13800138000"  # a name and phone pasted where a request id belongs
    findings = [{"subjectId": s["id"]} for s in gongan["subjects"]]
    body = await api.gql(partners["gongan"], ANSWER, {"r": pasted, "f": findings})
    assert code(body) == "NOT_FOUND"
    async with runtime.sessions() as session:
        texts = (await session.scalars(select(AuditEntry.entry))).all()
    assert texts and not any(pasted in text for text in texts)
