"""Verification (核对) under attack: what the review of issue 15 found, each through the
API on both backends. A queue page is bounded by what its audit entry is priced for; a
batch of answers is charged and checked item by item, and written whole or not at all;
any number of requests is weighed before approval; a case that leaves the review, or a
member who leaves the case, stops showing ID numbers to departments."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from domain.principal import Principal
from gateway.ratelimit import DEFAULT_RATES, Rate
from gateway.runtime import Runtime
from policies.engine import Decision
from schema.audit_log import LOOKUPS_PER_ENTRY
from schema.pricing import pricing
from schema.root import build_schema
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import issue_token
from tests.workflow.test_changes import member_ids
from tests.workflow.test_review_chain import APPROVE, REJECT, code, later, ok
from tests.workflow.test_verification import (
    ANSWER,
    ANSWERS,
    CONSENT,
    OVERRIDE,
    QUEUE,
    REQUEST,
    queue_of,
    start_exchange,
)
from tests.workflow.test_verification import member_ids as clear_people

PAGE = """query($n: Int) { verificationRequests(first: $n) { edges { node { id
  subjects { idNumber } } } } }"""
CHANGE = """mutation($a: String!, $c: ChangeInput!) { reportChange(archiveNo: $a, change: $c) {
  status } }"""
OTHERS = ["TAX", "BANK", "HOUSING_FUND", "MARKET_REGULATION", "NATURAL_RESOURCES"]


@pytest.fixture
async def exchange(api: Api, runtime: Runtime) -> dict[str, Any]:
    return await start_exchange(api, runtime)


def blank(request: dict[str, Any]) -> list[dict[str, str]]:
    return [{"subjectId": s["id"]} for s in request["subjects"]]


async def test_a_queue_page_fits_its_audit_entry(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    gongan = exchange["partners"]["gongan"]
    # a page of 500 requests of 30 members would write 15,000 lookups to one entry
    for too_many in (11, 500):
        body = await api.gql(gongan, PAGE, {"n": too_many})
        assert code(body) == "BAD_USER_INPUT", body
        assert body["errors"][0]["extensions"]["field"] == "first"
    assert len(queue_of(await api.gql(gongan, PAGE, {"n": 10}))) == 1
    assert len(queue_of(await api.gql(gongan, PAGE, {}))) == 1  # the default fits too
    # the largest page's lookups fit the entry's declared bound, and the field is priced
    # for them whatever the caller selects
    figures = pricing(build_schema())
    assert figures.bounds["AuditEvent.lookups"] == LOOKUPS_PER_ENTRY >= 10 * 30
    assert figures.costs["Query.verificationRequests"] >= 10 * 30
    audited = [e for e in await entries(runtime) if e["principal"] == "gongan" and e["lookups"]]
    assert audited and all(len(e["lookups"]) <= LOOKUPS_PER_ENTRY for e in audited)


async def test_a_batch_is_charged_per_25_answers(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    gongan = exchange["partners"]["gongan"]
    request = queue_of(await api.gql(gongan, QUEUE, {}))[0]
    rates = runtime.limiter.rates
    rates["partner"] = Rate(1 / 60, 3)  # three calls at once, then one a minute
    try:
        # 76 answers are four calls: over the burst, refused whole before any runs
        batch = [{"requestId": request["id"], "findings": blank(request)}] + [
            {"requestId": f"{i:032x}", "findings": blank(request)} for i in range(75)
        ]
        response = await api.post(gongan, ANSWERS, {"a": batch})
        assert response.status_code == 429, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    finally:
        del rates["partner"]
    # the shipped partner burst admits a department's batch of 500 (20 calls); these
    # ids are nobody's, so it is refused as a whole after the charge, nothing written
    rates["partner"] = DEFAULT_RATES["partner"]
    runtime.limiter._buckets.clear()  # a full bucket, as a fresh credential has
    try:
        fake = [{"requestId": f"{i:032x}", "findings": blank(request)} for i in range(500)]
        body = await api.gql(gongan, ANSWERS, {"a": fake})
        assert code(body) == "NOT_FOUND", body
    finally:
        del rates["partner"]
    assert [q["status"] for q in queue_of(await api.gql(gongan, QUEUE, {}))] == ["PENDING"]
    # and priced per answer: a batch costs what its single answers cost together
    runtime.limits = dataclasses.replace(runtime.limits, max_cost=2_000)
    many = [{"requestId": f"{i:032x}", "findings": blank(request)} for i in range(100)]
    body = await api.gql(gongan, ANSWERS, {"a": many})
    assert code(body) == "QUERY_TOO_COMPLEX", body


async def test_a_batch_is_checked_whole_before_anything_is_written(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    gongan = exchange["partners"]["gongan"]
    first = queue_of(await api.gql(gongan, QUEUE, {"s": "PENDING"}))[0]
    bad = blank(first)
    bad[-1]["deposits"] = "-1"  # the second answer's last finding is out of range
    batch = [
        {"requestId": first["id"], "findings": blank(first)},
        {"requestId": "0" * 32, "findings": bad},
    ]
    body = await api.gql(gongan, ANSWERS, {"a": batch})
    assert code(body) == "BAD_USER_INPUT", body
    assert "answers[1]" in body["errors"][0]["message"]
    # a request of another department (or none) later in the batch: NOT_FOUND, naming it
    renshe = queue_of(await api.gql(exchange["partners"]["renshe"], QUEUE, {}))[0]
    batch[1] = {"requestId": renshe["id"], "findings": blank(renshe)}
    body = await api.gql(gongan, ANSWERS, {"a": batch})
    assert code(body) == "NOT_FOUND", body
    assert "answers[1]" in body["errors"][0]["message"]
    # nothing of either call was stored: the first request is still pending, and answerable
    assert [q["id"] for q in queue_of(await api.gql(gongan, QUEUE, {"s": "PENDING"}))] == [
        first["id"]
    ]
    assert ok(await api.gql(gongan, ANSWERS, {"a": batch[:1]}), "answerVerifications") == 1
    again = await api.gql(gongan, ANSWERS, {"a": batch[:1]})
    assert code(again) == "CONFLICT", again


async def test_approval_weighs_every_request_however_many(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    archive, worker, reviewer = exchange["archive"], exchange["worker"], exchange["reviewer"]
    public_security, human_resources = sorted(
        exchange["requested"], key=lambda r: r["department"] != "PUBLIC_SECURITY"
    )
    ok(
        await api.gql(reviewer, OVERRIDE, {"r": human_resources["id"], "why": "另行核对"}),
        "overrideVerification",
    )
    # more than fifty newer requests, all withdrawn by a reviewer: the oldest one, still
    # pending, is not among the newest fifty the archive shows
    for _ in range(11):
        newer = ok(
            await api.gql(worker, REQUEST, {"a": archive, "d": OTHERS, "c": CONSENT}),
            "requestVerification",
        )
        for request in newer:
            ok(
                await api.gql(reviewer, OVERRIDE, {"r": request["id"], "why": "部门逾期未复"}),
                "overrideVerification",
            )
    later(runtime, 7)
    held = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(held) == "CONFLICT", held
    assert "PUBLIC_SECURITY" in held["errors"][0]["message"]
    ok(
        await api.gql(reviewer, OVERRIDE, {"r": public_security["id"], "why": "部门逾期未复"}),
        "overrideVerification",
    )
    assert (
        ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")["status"]
        == "APPROVED"
    )


async def test_a_refused_case_shows_no_id_number_and_takes_no_answer(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    gongan = exchange["partners"]["gongan"]
    people = await clear_people(runtime, exchange["archive"])
    before = queue_of(await api.gql(gongan, QUEUE, {}))[0]
    assert {s["idNumber"] for s in before["subjects"]} == set(people)
    later(runtime, 7)
    ok(await api.gql(exchange["reviewer"], REJECT, {"a": exchange["archive"]}), "rejectApplication")
    after = queue_of(await api.gql(gongan, QUEUE, {}))
    assert [q["status"] for q in after] == ["WITHDRAWN"]
    assert not set(people) & {s["idNumber"] for s in after[0]["subjects"]}
    assert not set(people.values()) & {s["name"] for s in after[0]["subjects"]}
    late = await api.gql(gongan, ANSWER, {"r": before["id"], "f": blank(before)})
    assert code(late) == "CONFLICT", late


async def test_a_member_who_left_is_no_longer_shown_in_clear(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    gongan = exchange["partners"]["gongan"]
    archive, worker = exchange["archive"], exchange["worker"]
    people = await clear_people(runtime, archive)
    _, spouse = await member_ids(api, worker, archive)
    change = {"kind": "MEMBER_LEFT", "reason": "迁出", "memberId": spouse}
    ok(await api.gql(worker, CHANGE, {"a": archive, "c": change}), "reportChange")
    subjects = queue_of(await api.gql(gongan, QUEUE, {}))[0]["subjects"]
    shown = {s["relation"]: s["idNumber"] for s in subjects}
    assert shown["HEAD"] in people  # the head is still a member: in clear
    assert shown["SPOUSE"] not in people and "*" in shown["SPOUSE"]


async def test_a_field_added_to_the_queue_types_is_denied_to_partners(
    runtime: Runtime, exchange: dict[str, Any]
) -> None:
    # the stored policy (as migrated) names the queue's fields one by one
    engine = runtime.policy_engine
    partner = Principal("c", "gongan", "partner", "22", None, department="PUBLIC_SECURITY")
    for named in ("VerificationSubject.idNumber", "VerificationRequest.dueOn"):
        assert engine.decide(partner, named) is Decision.CLEAR, named
    for future in ("VerificationSubject.address", "VerificationRequest.archiveNo"):
        assert engine.decide(partner, future) is Decision.DENIED, future


ACTIVITY = """query($c: String!) { verificationActivity(county: $c) {
  department received answered withdrawn pending overdue } }"""


async def test_security_officers_see_activity_per_department_and_nothing_of_people(
    api: Api, runtime: Runtime, exchange: dict[str, Any]
) -> None:
    partners = exchange["partners"]
    gongan = queue_of(await api.gql(partners["gongan"], QUEUE, {}))[0]
    ok(
        await api.gql(partners["gongan"], ANSWER, {"r": gongan["id"], "f": blank(gongan)}),
        "answerVerification",
    )
    auditor = await issue_token(runtime, "auditor", "*", principal="audit-sun")
    secadmin = await issue_token(runtime, "secadmin", "*", principal="sec-zhou")
    county = exchange["archive"][:6]
    for officer in (auditor, secadmin):
        rows = ok(await api.gql(officer, ACTIVITY, {"c": county}), "verificationActivity")
        assert rows == [
            {
                "department": "HUMAN_RESOURCES",
                "received": 1,
                "answered": 0,
                "withdrawn": 0,
                "pending": 1,
                "overdue": 0,
            },
            {
                "department": "PUBLIC_SECURITY",
                "received": 1,
                "answered": 1,
                "withdrawn": 0,
                "pending": 0,
                "overdue": 0,
            },
        ]
    later(runtime, 30)  # past the ten working days: the pending request is overdue
    rows = ok(await api.gql(auditor, ACTIVITY, {"c": county}), "verificationActivity")
    assert [(r["department"], r["overdue"]) for r in rows] == [
        ("HUMAN_RESOURCES", 1),
        ("PUBLIC_SECURITY", 0),
    ]
    # another county: nothing; a bad code: refused; case staff and partners: not theirs
    assert ok(await api.gql(auditor, ACTIVITY, {"c": "520102"}), "verificationActivity") == []
    assert code(await api.gql(auditor, ACTIVITY, {"c": "22018"})) == "BAD_USER_INPUT"
    for other in (exchange["worker"], exchange["reviewer"], partners["gongan"]):
        assert code(await api.gql(other, ACTIVITY, {"c": county})) == "FORBIDDEN"
