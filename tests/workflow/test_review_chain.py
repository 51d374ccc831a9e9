"""The review chain end to end through GraphQL, by the roles that own each step."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from audit.chain import verify
from domain.benefit import next_month_start
from domain.enums import Area
from domain.workflow import REVIEW_MONTHS, ReviewClass
from gateway.runtime import Runtime
from store.regions_data import STANDARDS
from store.types import utcnow
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions, member, nodes

URBAN_STANDARD = STANDARDS[("220183", Area.URBAN)]
SUBMIT = (
    "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo status } }"
)
FIELDS = "archiveNo status monthlyBenefit reviewClass reviews { step fromStatus toStatus actor reason details }"


ACCEPT = f"mutation($a: String!) {{ acceptApplication(archiveNo: $a) {{ {FIELDS} }} }}"
INVESTIGATE = (
    "mutation($a: String!, $i: InvestigationInput!) { recordInvestigation(archiveNo: $a, investigation: $i) "
    f"{{ {FIELDS} }} }}"
)
TOWNSHIP = f'mutation($a: String!) {{ reviewInTownship(archiveNo: $a, opinion: "情况属实，同意上报") {{ {FIELDS} }} }}'
NOTICE = f"mutation($a: String!) {{ publishNotice(archiveNo: $a) {{ {FIELDS} }} }}"
OBJECTION = f'mutation($a: String!) {{ recordObjection(archiveNo: $a, text: "邻居反映有车辆") {{ {FIELDS} }} }}'
APPROVE = f'mutation($a: String!) {{ approveApplication(archiveNo: $a, reason: "符合条件") {{ {FIELDS} }} }}'
REJECT = (
    "mutation($a: String!) { rejectApplication(archiveNo: $a, reasons: [INCOME_ABOVE_LINE], "
    f'text: "收入超标") {{ {FIELDS} rejectionReasons decidedOn }} }}'
)
ACTIVATE = f"mutation($a: String!) {{ activateHousehold(archiveNo: $a) {{ {FIELDS} }} }}"
SUSPEND = f"mutation($a: String!, $r: String!) {{ suspendHousehold(archiveNo: $a, reason: $r) {{ {FIELDS} }} }}"
RESUME = f"mutation($a: String!, $r: String!) {{ resumeHousehold(archiveNo: $a, reason: $r) {{ {FIELDS} }} }}"
TERMINATE = f"mutation($a: String!, $r: String!) {{ terminateHousehold(archiveNo: $a, reason: INCOME_ABOVE_LINE, text: $r) {{ {FIELDS} terminationReason }} }}"
ARCHIVE = f"mutation($a: String!) {{ archiveHousehold(archiveNo: $a) {{ {FIELDS} }} }}"
OBJECTIONS = (
    "query($a: String!) { household(archiveNo: $a) "
    "{ objections { id status resolution resolvedBy } } }"
)
DISMISS = (
    "mutation($a: String!, $o: ID!, $r: String!) "
    "{ dismissObjection(archiveNo: $a, objectionId: $o, reasons: $r) { status } }"
)
HISTORY = (
    "query($a: String!) { household(archiveNo: $a) { objections { text recordedBy } "
    "benefitHistory { amount effectiveFrom reason } } }"
)
GENERATE = (
    "mutation($c: String!, $p: String!) { generatePayments(countyCode: $c, period: $p) "
    "{ created totalAmount } }"
)
DISBURSE = (
    'mutation($id: ID!) { recordDisbursement(paymentId: $id, outcome: DISBURSED, bankReference: "ICBC-1") '
    "{ status } }"
)
DUE = "query($b: Date!) { dueForReview(before: $b) { edges { node { archiveNo reviewClass } } } }"


def ok(body: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][name]
    return result


def code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def later(runtime: Runtime, days: int) -> None:
    """Move the workflow's clock forward (notice periods, archiving)."""
    runtime.clock = lambda: utcnow() + dt.timedelta(days=days)


async def to_notice(api: Api, worker: str, incomes: tuple[str, ...] = ("0.00", "100.00")) -> str:
    members = [member("HEAD", income=incomes[0])] + [
        member("SPOUSE", name="李秀英", income=i, birth=dt.date(1972, 3, 9)) for i in incomes[1:]
    ]
    archive = ok(
        await api.gql(worker, SUBMIT, {"input": application(members=members)}), "submitApplication"
    )["archiveNo"]
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    visit = {
        "visitedOn": "2026-11-20",
        "visitors": ["张强", "刘敏"],
        "findings": "家中无劳动力收入",
        "photoRefs": ["photo-001"],
    }
    ok(await api.gql(worker, INVESTIGATE, {"a": archive, "i": visit}), "recordInvestigation")
    ok(await api.gql(worker, TOWNSHIP, {"a": archive}), "reviewInTownship")
    ok(await api.gql(worker, NOTICE, {"a": archive}), "publishNotice")
    return archive


async def test_the_whole_chain_by_the_right_roles(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-zhang")
    reviewer = await issue_token(runtime, "county_reviewer", "220183", principal="cr-li")
    archive = await to_notice(api, worker)
    ok(await api.gql(worker, OBJECTION, {"a": archive}), "recordObjection")

    early = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(early) == "CONFLICT"
    assert "NOTICE until" in early["errors"][0]["message"]
    assert (
        code(await api.gql(worker, APPROVE, {"a": archive})) == "FORBIDDEN"
    )  # not the township's call

    later(runtime, 7)
    blocked = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(blocked) == "CONFLICT"
    assert "objection" in blocked["errors"][0]["message"]
    [objection] = (await api.gql(reviewer, OBJECTIONS, {"a": archive}))["data"]["household"][
        "objections"
    ]
    assert objection["status"] == "OPEN"
    dismissed = await api.gql(
        reviewer, DISMISS, {"a": archive, "o": objection["id"], "r": "经核实，车辆为借用"}
    )
    assert ok(dismissed, "dismissObjection")["status"] == "NOTICE"
    approved = ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    assert approved["status"] == "APPROVED"
    # (standard - per-capita income) x members = standard x 2 - (0 + 100), exactly
    standard = URBAN_STANDARD
    assert Decimal(approved["monthlyBenefit"]) == standard * 2 - Decimal("100.00")
    assert approved["reviewClass"] in {"A", "B", "C"}
    active = ok(await api.gql(reviewer, ACTIVATE, {"a": archive}), "activateHousehold")
    assert active["status"] == "ACTIVE"
    steps = [(r["step"], r["fromStatus"], r["toStatus"]) for r in active["reviews"]]
    assert steps == [
        ("SUBMIT", None, "SUBMITTED"),
        ("ACCEPT", "SUBMITTED", "ACCEPTED"),
        ("INVESTIGATE", "ACCEPTED", "INVESTIGATED"),
        ("TOWNSHIP_REVIEW", "INVESTIGATED", "TOWNSHIP_REVIEWED"),
        ("PUBLISH_NOTICE", "TOWNSHIP_REVIEWED", "NOTICE"),
        ("DISMISS_OBJECTION", "NOTICE", "NOTICE"),
        ("APPROVE", "NOTICE", "APPROVED"),
        ("ACTIVATE", "APPROVED", "ACTIVE"),
    ]
    visit = active["reviews"][2]
    assert visit["actor"] == "cw-zhang"
    assert visit["details"]["visitors"] == ["张强", "刘敏"]
    history = await api.gql(reviewer, HISTORY, {"a": archive})
    assert history["data"]["household"]["objections"][0]["recordedBy"] == "cw-zhang"
    assert [b["amount"] for b in history["data"]["household"]["benefitHistory"]] == [
        approved["monthlyBenefit"]
    ]

    # finance pays it from the month after the approval (下月起): one PENDING payment
    # in next month's batch, then disbursed
    finance = await issue_token(runtime, "finance_officer", "220183", principal="fin-wang")
    decided = runtime.clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    period = f"{next_month_start(decided):%Y-%m}"
    this_month = ok(
        await api.gql(finance, GENERATE, {"c": "220183", "p": f"{decided:%Y-%m}"}),
        "generatePayments",
    )
    assert this_month["created"] == 0
    batch = ok(await api.gql(finance, GENERATE, {"c": "220183", "p": period}), "generatePayments")
    assert batch["created"] == 1
    assert batch["totalAmount"] == approved["monthlyBenefit"]
    paid = await api.gql(
        finance,
        "query($a: String!) { household(archiveNo: $a) { payments { id status } } }",
        {"a": archive},
    )
    [payment] = paid["data"]["household"]["payments"]
    done = ok(await api.gql(finance, DISBURSE, {"id": payment["id"]}), "recordDisbursement")
    assert done["status"] == "DISBURSED"

    for query, reason in ((SUSPEND, "外出务工"), (RESUME, "返乡"), (TERMINATE, "收入提高")):
        name = query.split("{")[1].split("(")[0].strip()
        ok(await api.gql(reviewer, query, {"a": archive, "r": reason}), name)
    assert code(await api.gql(reviewer, ARCHIVE, {"a": archive})) == "CONFLICT"  # too soon
    later(runtime, 40)
    archived = ok(await api.gql(reviewer, ARCHIVE, {"a": archive}), "archiveHousehold")
    assert archived["status"] == "ARCHIVED"
    # archived, never deleted: still readable with its whole history
    again = await api.gql(
        reviewer,
        "query($a: String!) { household(archiveNo: $a) { status reviews { step } } }",
        {"a": archive},
    )
    assert len(again["data"]["household"]["reviews"]) == 12
    # an archived household is not paid again
    next_period = f"{runtime.clock():%Y-%m}"
    later_batch = await api.gql(finance, GENERATE, {"c": "220183", "p": next_period})
    assert later_batch["data"]["generatePayments"]["created"] == 0

    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok


async def test_out_of_order_and_missing_reasons(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    archive = ok(await api.gql(worker, SUBMIT, {"input": application()}), "submitApplication")[
        "archiveNo"
    ]
    skipped = await api.gql(worker, NOTICE, {"a": archive})
    assert code(skipped) == "CONFLICT"
    assert "SUBMITTED" in skipped["errors"][0]["message"]
    no_reason = await api.gql(reviewer, SUSPEND, {"a": archive, "r": " "})
    assert code(no_reason) in {"BAD_USER_INPUT", "CONFLICT"}
    elsewhere = await issue_token(runtime, "county_reviewer", "520121")
    assert code(await api.gql(elsewhere, REJECT, {"a": archive})) == "NOT_FOUND"


async def test_an_ineligible_household_cannot_be_approved(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    exact = str(URBAN_STANDARD)
    archive = await to_notice(api, worker, incomes=(exact, exact))  # exactly the standard
    later(runtime, 7)
    refused = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(refused) == "CONFLICT"
    assert "not eligible" in refused["errors"][0]["message"]
    rejected = ok(await api.gql(reviewer, REJECT, {"a": archive}), "rejectApplication")
    assert rejected["status"] == "REJECTED"
    # the people are free to be claimed again once rejected
    again = await api.gql(
        worker, SUBMIT, {"input": application(members=[member("HEAD", number=None)])}
    )
    assert "errors" not in again


async def test_due_for_review(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    archive = await to_notice(api, worker)
    later(runtime, 7)
    approved = ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    ok(await api.gql(reviewer, ACTIVATE, {"a": archive}), "activateHousehold")
    months = REVIEW_MONTHS[ReviewClass(approved["reviewClass"])]
    soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert nodes(ok(await api.gql(reviewer, DUE, {"b": soon}), "dueForReview")) == []
    due_date = (dt.date.today() + dt.timedelta(days=7 + months * 31 + 1)).isoformat()
    assert nodes(ok(await api.gql(reviewer, DUE, {"b": due_date}), "dueForReview")) == [
        {"archiveNo": archive, "reviewClass": approved["reviewClass"]}
    ]


@pytest.mark.postgres_only
@pytest.mark.parametrize("attempt", range(20))
async def test_two_reviewers_deciding_at_once_exactly_one_wins(
    api: Api, runtime: Runtime, attempt: int
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    first = await issue_token(runtime, "county_reviewer", "220183", principal="cr-1")
    second = await issue_token(runtime, "county_reviewer", "220183", principal="cr-2")
    archive = await to_notice(api, worker)
    later(runtime, 7)
    results = await asyncio.gather(
        api.gql(first, APPROVE, {"a": archive}), api.gql(second, REJECT, {"a": archive})
    )
    won = [r for r in results if "errors" not in r]
    lost = [r for r in results if "errors" in r]
    assert len(won) == 1, results
    assert [code(r) for r in lost] == ["CONFLICT"]
    final = await api.gql(
        first,
        "query($a: String!) { household(archiveNo: $a) { status reviews { step } } }",
        {"a": archive},
    )
    decisions = [
        r["step"]
        for r in final["data"]["household"]["reviews"]
        if r["step"] in {"APPROVE", "REJECT"}
    ]
    assert len(decisions) == 1


ARCHIVE_DUE = "mutation { archiveDue }"


async def test_archive_due_moves_only_what_the_period_allows(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    exact = str(URBAN_STANDARD)
    archive = await to_notice(api, worker, incomes=(exact, exact))
    later(runtime, 7)
    ok(await api.gql(reviewer, REJECT, {"a": archive}), "rejectApplication")
    assert ok(await api.gql(reviewer, ARCHIVE_DUE), "archiveDue") == []
    later(runtime, 7 + 30)
    assert ok(await api.gql(reviewer, ARCHIVE_DUE), "archiveDue") == [archive]
    assert ok(await api.gql(reviewer, ARCHIVE_DUE), "archiveDue") == []
    assert code(await api.gql(worker, ARCHIVE_DUE)) == "FORBIDDEN"
