"""A department's answer taken into the archive (核对): the found income and assets
then weigh in the case's eligibility and asset checks, through GraphQL on both backends."""

from __future__ import annotations

from typing import Any

from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import issue_token
from tests.workflow.test_review_chain import APPROVE, code, later, ok
from tests.workflow.test_verification import ANSWER, QUEUE, queue_of, start_exchange

ADOPT = """mutation($r: ID!) { adoptFindings(requestId: $r) {
  status members { monthlyIncome } assets { kind value description }
  reviews { step details } } }"""
DISCREPANCIES = """query($a: String!) { household(archiveNo: $a) {
  verifications { department discrepancies { kind } } } }"""


async def answer(api: Api, token: str, findings: list[dict[str, Any]]) -> str:
    request = queue_of(await api.gql(token, QUEUE, {"s": "PENDING"}))[0]
    rows = [{"subjectId": s["id"], **f} for s, f in zip(request["subjects"], findings, strict=True)]
    ok(await api.gql(token, ANSWER, {"r": request["id"], "f": rows}), "answerVerification")
    return str(request["id"])


async def test_a_found_wage_and_vehicle_weigh_in_the_decision(api: Api, runtime: Runtime) -> None:
    exchange = await start_exchange(api, runtime)
    archive, worker, reviewer = exchange["archive"], exchange["worker"], exchange["reviewer"]
    partners = exchange["partners"]
    pending = exchange["requested"][0]["id"]
    # only an answer is adopted
    assert code(await api.gql(worker, ADOPT, {"r": pending})) == "CONFLICT"
    # human resources finds a wage the head did not declare (0.00 declared)
    hr = await answer(api, partners["renshe"], [{"monthlyWage": "2000.00"}, {}])
    # public security finds a car worth more than the county's vehicle limit
    ps = await answer(
        api,
        partners["gongan"],
        [{"vehicleCount": 1, "vehicleValue": "80000.00", "registrationMatches": True}, {}],
    )
    before = ok(await api.gql(worker, DISCREPANCIES, {"a": archive}), "household")
    kinds = {d["kind"] for v in before["verifications"] for d in v["discrepancies"]}
    assert kinds == {"INCOME", "VEHICLES"}
    # a partner never writes the archive; a caseworker elsewhere does not find the request
    assert code(await api.gql(partners["renshe"], ADOPT, {"r": hr})) == "FORBIDDEN"
    stranger = await issue_token(runtime, "caseworker", "220183101")
    assert code(await api.gql(stranger, ADOPT, {"r": hr})) == "NOT_FOUND"

    adopted = ok(await api.gql(worker, ADOPT, {"r": hr}), "adoptFindings")
    assert adopted["members"][0]["monthlyIncome"] == "2000.00"
    assert adopted["reviews"][-1]["step"] == "ADOPT_FINDINGS"
    assert adopted["reviews"][-1]["details"] == {"requestId": hr, "kinds": ["INCOME"]}
    # adopting it again finds nothing more to take over
    assert code(await api.gql(worker, ADOPT, {"r": hr})) == "CONFLICT"
    vehicles = ok(await api.gql(reviewer, ADOPT, {"r": ps}), "adoptFindings")
    assert {"kind": "VEHICLE", "value": "80000.00", "description": "核对: PUBLIC_SECURITY"} in (
        vehicles["assets"]
    )
    after = ok(await api.gql(worker, DISCREPANCIES, {"a": archive}), "household")
    assert [d for v in after["verifications"] for d in v["discrepancies"]] == []

    # the notice has run: the decision now weighs what the departments found
    later(runtime, 8)
    refused = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(refused) == "CONFLICT"
    message = refused["errors"][0]["message"]
    assert "not eligible" in message or "VEHICLE" in message, message
    # no figure reaches the audit log
    assert all("80000" not in str(e) and "2000.00" not in str(e) for e in await entries(runtime))
