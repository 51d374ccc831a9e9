"""Time limits in working days (57号), through GraphQL on both backends.

The clock is set to days around China's 2026 Mid-Autumn and National Day holidays
(25 September to 7 October off; Saturday 10 October worked, 调休), where counting
Monday to Friday gives a different answer from the calendar.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions, nodes
from tests.workflow.test_review_chain import (
    ACCEPT,
    INVESTIGATE,
    NOTICE,
    REJECT,
    SUBMIT,
    TOWNSHIP,
    code,
    ok,
)

BEIJING = dt.timezone(dt.timedelta(hours=8))
OVERDUE = (
    "query($s: HouseholdStatus!) { overdue(stage: $s) { edges { node { archiveNo status } } } }"
)
DEADLINE = """query($a: String!) { household(archiveNo: $a) {
  status
  deadline { acceptedOn dueOn extended decidedOn workingDaysLeft overdue }
  writtenDecision { decidedOn dueOn issuedOn overdue }
  stageDays { status workingDays }
} }"""
EXTEND = (
    "mutation($a: String!, $r: String!) { extendDeadline(archiveNo: $a, reason: $r) "
    "{ deadline { dueOn extended } } }"
)
WRITTEN = (
    "mutation($a: String!, $r: String!) { recordWrittenDecision(archiveNo: $a, reference: $r) "
    "{ writtenDecision { issuedOn overdue } } }"
)
RETURN = (
    "mutation($a: String!) { returnForCorrection(archiveNo: $a, "
    'missing: ["户口簿复印件"]) { status } }'
)
RESUBMIT = "mutation($a: String!) { resubmitApplication(archiveNo: $a) { status } }"
VISIT = {"visitedOn": "2026-09-01", "visitors": ["张强", "刘敏"], "findings": "家中无劳动力收入"}


def at(runtime: Runtime, day: str, hour: int = 10, minute: int = 0) -> None:
    """Set the service's clock to `day` at hour:minute, Beijing time."""
    moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), BEIJING)
    runtime.clock = lambda: moment.astimezone(dt.UTC)


async def overdue(api: Api, token: str, stage: str) -> list[str]:
    found = nodes(ok(await api.gql(token, OVERDUE, {"s": stage}), "overdue"))
    return [n["archiveNo"] for n in found]


async def household(api: Api, token: str, archive: str) -> dict[str, Any]:
    return ok(await api.gql(token, DEADLINE, {"a": archive}), "household")


async def submitted(api: Api, worker: str) -> str:
    body = await api.gql(worker, SUBMIT, {"input": application()})
    return str(ok(body, "submitApplication")["archiveNo"])


async def test_acceptance_is_overdue_by_working_days_across_the_holidays(
    api: Api, runtime: Runtime
) -> None:
    """Three working days from Thursday 24 September 2026: the 25th to the 27th are
    holidays, so the third is Wednesday the 30th (Monday to Friday would say the 29th);
    overdue from the first moment of 1 October, itself a holiday."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-24")
    archive = await submitted(api, worker)
    at(runtime, "2026-09-30", 23, 59)
    assert await overdue(api, reviewer, "SUBMITTED") == []
    at(runtime, "2026-10-01", 0, 0)
    assert await overdue(api, reviewer, "SUBMITTED") == [archive]
    # stage days count working days: none from the 1st to the 7th of October
    at(runtime, "2026-10-07", 18)
    stages = (await household(api, worker, archive))["stageDays"]
    assert stages == [{"status": "SUBMITTED", "workingDays": 3}]
    at(runtime, "2026-10-10", 9)  # a Saturday worked (调休)
    stages = (await household(api, worker, archive))["stageDays"]
    assert stages == [{"status": "SUBMITTED", "workingDays": 6}]  # 8, 9 and 10 October


async def test_the_case_deadline_counts_from_acceptance_and_extends_once(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-21")
    archive = await submitted(api, worker)
    assert (await household(api, worker, archive))["deadline"] is None  # not accepted yet
    at(runtime, "2026-09-22")
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    # 30 working days after Tuesday 22 September, over 10 days of holidays and the
    # worked Saturday of 10 October: Tuesday 10 November
    at(runtime, "2026-09-23")
    deadline = (await household(api, worker, archive))["deadline"]
    assert deadline == {
        "acceptedOn": "2026-09-22",
        "dueOn": "2026-11-10",
        "extended": False,
        "decidedOn": None,
        "workingDaysLeft": 29,
        "overdue": False,
    }
    # only the county extends, with a reason, once
    denied = await api.gql(worker, EXTEND, {"a": archive, "r": "需补充核对"})
    assert code(denied) == "FORBIDDEN"
    assert code(await api.gql(reviewer, EXTEND, {"a": archive, "r": " "})) == "BAD_USER_INPUT"
    extended = ok(
        await api.gql(reviewer, EXTEND, {"a": archive, "r": "需补充核对"}), "extendDeadline"
    )
    assert extended["deadline"] == {"dueOn": "2026-12-01", "extended": True}
    again = await api.gql(reviewer, EXTEND, {"a": archive, "r": "再次延期"})
    assert code(again) == "CONFLICT"
    assert "already extended" in again["errors"][0]["message"]
    # past the extended due date the case is overdue, by working days
    at(runtime, "2026-12-03")
    late = (await household(api, worker, archive))["deadline"]
    assert (late["overdue"], late["workingDaysLeft"]) == (True, -2)


async def test_no_extension_once_the_deadline_has_passed(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-22")
    archive = await submitted(api, worker)
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    at(runtime, "2026-11-10", 17)  # the last day: still allowed
    assert (await household(api, worker, archive))["deadline"]["overdue"] is False
    at(runtime, "2026-11-11")
    late = await api.gql(reviewer, EXTEND, {"a": archive, "r": "情况复杂"})
    assert code(late) == "CONFLICT"
    assert "2026-11-10" in late["errors"][0]["message"]


async def test_waiting_for_materials_stops_the_clock(api: Api, runtime: Runtime) -> None:
    """A case sent back for correction (补正) is never overdue while it waits, and its
    resubmission starts acceptance's clock again."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-01")
    archive = await submitted(api, worker)
    ok(await api.gql(worker, RETURN, {"a": archive}), "returnForCorrection")
    at(runtime, "2026-11-30")
    assert await overdue(api, reviewer, "AWAITING_CORRECTION") == []
    assert await overdue(api, reviewer, "SUBMITTED") == []
    ok(await api.gql(worker, RESUBMIT, {"a": archive}), "resubmitApplication")
    at(runtime, "2026-12-03")  # Monday 30 November + 3 working days: Thursday
    assert await overdue(api, reviewer, "SUBMITTED") == []
    at(runtime, "2026-12-04")
    assert await overdue(api, reviewer, "SUBMITTED") == [archive]


async def test_the_county_decides_within_ten_working_days_of_the_notice(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-14")
    archive = await submitted(api, worker)
    for mutation, variables in (
        (ACCEPT, {"a": archive}),
        (INVESTIGATE, {"a": archive, "i": VISIT}),
        (TOWNSHIP, {"a": archive}),
        (NOTICE, {"a": archive}),
    ):
        assert "errors" not in await api.gql(worker, mutation, variables)
    # the notice runs 14 to 20 September; ten working days after it, over the holidays
    # and the worked Saturday of 10 October: 21 to 24 September, 28 to 30, 8 to 10 October
    at(runtime, "2026-10-10", 20)
    assert await overdue(api, reviewer, "NOTICE") == []
    at(runtime, "2026-10-11")
    assert await overdue(api, reviewer, "NOTICE") == [archive]


async def test_a_refusal_is_written_within_three_working_days(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-22")
    archive = await submitted(api, worker)
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    at(runtime, "2026-09-24")  # refused before investigation: no notice needed
    ok(await api.gql(reviewer, REJECT, {"a": archive}), "rejectApplication")
    seen = await household(api, worker, archive)
    assert seen["writtenDecision"] == {
        "decidedOn": "2026-09-24",
        "dueOn": "2026-09-30",
        "issuedOn": None,
        "overdue": False,
    }
    assert seen["deadline"]["decidedOn"] == "2026-09-24"
    assert seen["deadline"]["workingDaysLeft"] is None
    at(runtime, "2026-09-30", 18)
    assert await overdue(api, reviewer, "REJECTED") == []
    at(runtime, "2026-10-08")
    assert await overdue(api, reviewer, "REJECTED") == [archive]
    assert (await household(api, worker, archive))["writtenDecision"]["overdue"] is True
    # the caseworker does not record the county's notice; the county does, once
    assert code(await api.gql(worker, WRITTEN, {"a": archive, "r": "长民低拒〔2026〕12号"})) == (
        "FORBIDDEN"
    )
    written = ok(
        await api.gql(reviewer, WRITTEN, {"a": archive, "r": "长民低拒〔2026〕12号"}),
        "recordWrittenDecision",
    )
    assert written["writtenDecision"] == {"issuedOn": "2026-10-08", "overdue": True}
    # the reference is free text: kept in the review row, never in the audit variables
    recorded = [e for e in await entries(runtime) if e.get("variables", {}).get("a") == archive]
    assert recorded and all("长民低拒" not in str(e) for e in recorded)
    assert await overdue(api, reviewer, "REJECTED") == []
    again = await api.gql(reviewer, WRITTEN, {"a": archive, "r": "长民低拒〔2026〕13号"})
    assert code(again) == "CONFLICT"


async def test_written_decisions_and_extensions_only_where_they_belong(
    api: Api, runtime: Runtime
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-22")
    archive = await submitted(api, worker)
    # no written refusal for a case not refused, no extension before acceptance
    assert code(await api.gql(reviewer, WRITTEN, {"a": archive, "r": "文号1"})) == "CONFLICT"
    assert code(await api.gql(reviewer, EXTEND, {"a": archive, "r": "复杂"})) == "CONFLICT"
    # a reference is a document number, not a letter
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    ok(await api.gql(reviewer, REJECT, {"a": archive}), "rejectApplication")
    long = await api.gql(reviewer, WRITTEN, {"a": archive, "r": "号" * 101})
    assert code(long) == "BAD_USER_INPUT"
    # another county's reviewer cannot touch it: outside the region scope
    stranger = await issue_token(runtime, "county_reviewer", "220182")
    assert code(await api.gql(stranger, WRITTEN, {"a": archive, "r": "文号1"})) == "NOT_FOUND"


async def test_the_limit_counts_from_the_day_a_stage_began_at_midnight(
    api: Api, runtime: Runtime
) -> None:
    """Submitted at the first moment of Thursday 24 September: three working days run
    to the 30th, so on the 30th it is still on time (the day it began is its own)."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-24", 0, 0)
    archive = await submitted(api, worker)
    at(runtime, "2026-09-30", 12)
    assert await overdue(api, reviewer, "SUBMITTED") == []
    at(runtime, "2026-10-01", 12)
    assert await overdue(api, reviewer, "SUBMITTED") == [archive]


async def test_a_written_notice_recorded_with_the_refusal_counts(
    api: Api, runtime: Runtime
) -> None:
    """A county that hands the written refusal over at the decision itself records both
    at the same moment: the notice is not owed any more."""
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    at(runtime, "2026-09-22")
    archive = await submitted(api, worker)
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    at(runtime, "2026-09-24")
    ok(await api.gql(reviewer, REJECT, {"a": archive}), "rejectApplication")
    ok(
        await api.gql(reviewer, WRITTEN, {"a": archive, "r": "长民低拒〔2026〕7号"}),
        "recordWrittenDecision",
    )
    at(runtime, "2026-10-09")
    assert await overdue(api, reviewer, "REJECTED") == []
