"""A verification request is due in `DIBAO_VERIFICATION_DAYS` working days by the holiday
calendar (README, "The workflow" and "Verification"): public holidays do not count.
Through GraphQL, on both backends."""

from __future__ import annotations

import datetime as dt

from domain.calendar import UnknownYear
from domain.verification import add_working_days
from gateway.runtime import Runtime
from tests.conftest import Api
from tests.workflow.test_review_chain import ok
from tests.workflow.test_verification import CONSENT, REQUEST, start_exchange
from tests.workflow.test_verification_overdue import BEIJING, at


async def test_a_request_is_due_by_the_holiday_calendar(api: Api, runtime: Runtime) -> None:
    exchange = await start_exchange(api, runtime)
    days = runtime.settings.verification_days
    calendar = runtime.settings.calendar
    # the next day whose due date a public holiday pushes out, by the calendar in force
    day = runtime.clock().astimezone(BEIJING).date()
    for _ in range(400):
        day += dt.timedelta(days=1)
        try:
            if calendar.add(day, days) > add_working_days(day, days):
                break
        except UnknownYear:
            continue
    else:
        raise AssertionError("no holiday within the calendar's years")
    at(runtime, day)
    asked = ok(
        await api.gql(
            exchange["worker"], REQUEST, {"a": exchange["archive"], "d": ["TAX"], "c": CONSENT}
        ),
        "requestVerification",
    )
    assert [r["dueOn"] for r in asked] == [calendar.add(day, days).isoformat()]
