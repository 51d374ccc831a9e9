"""The console's verification page (核对活动), in a real browser over `dibao serve`: a
security officer sees, per partner department, what a county sent and how it was answered
— counts only, never a person's name or ID number."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from gateway.runtime import Runtime
from store.models import VerificationRequest
from tests.conftest import Api
from tests.console.test_console_e2e import (
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    _console_problem,
    _load,
    _login,
    _rows,
    _shot,
)
from tests.helpers import issue_token
from tests.workflow.test_review_chain import ok
from tests.workflow.test_verification import ANSWER, QUEUE, member_ids, queue_of, start_exchange
from tests.workflow.test_verification_limits import blank


async def _counts(row: Any) -> dict[str, int]:
    cells: dict[str, str] = await row.evaluate(
        """r => Object.fromEntries([...r.querySelectorAll('[data-testid^=verification-]')]
            .map(c => [c.dataset.testid.slice('verification-'.length), c.textContent]))"""
    )
    return {name: int(value) for name, value in cells.items()}


@pytest.mark.sqlite_only
async def test_the_verification_page_shows_each_department_and_no_person(
    chromium: Path, server: str, api: Api, runtime: Runtime
) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    exchange = await start_exchange(api, runtime)  # public security and human resources
    # every partner reads its queue; only the two departments asked see the household
    queues = {
        name: queue_of(await api.gql(token, QUEUE, {}))
        for name, token in exchange["partners"].items()
        if name != "nodept"  # bound to no department: refused outright
    }
    assert {name for name, queue in queues.items() if queue} == {"gongan", "renshe"}
    gongan = queues["gongan"][0]
    ok(
        await api.gql(
            exchange["partners"]["gongan"], ANSWER, {"r": gongan["id"], "f": blank(gongan)}
        ),
        "answerVerification",
    )
    # human resources' request was due long ago: overdue on the page, whatever today is
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(VerificationRequest)
            .where(VerificationRequest.department == "HUMAN_RESOURCES")
            .values(due_on=dt.date(2026, 1, 5))
        )
    people = await member_ids(runtime, exchange["archive"])
    auditor = await issue_token(runtime, "auditor", "*", principal="auditor-vf")
    county = exchange["archive"][:6]
    problems: list[str] = []

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(
                locale="zh-CN", viewport={"width": 1280, "height": 900}
            )
            context.set_default_timeout(TIMEOUT_MS)
            page = await context.new_page()
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda msg: problems.append(_console_problem(msg)))
            await _login(page, server, auditor)
            await expect(page.get_by_test_id("app")).to_be_visible()

            await page.get_by_test_id("tab-verification").click()
            await expect(page.get_by_test_id("tab-verification")).to_have_text("核对活动")
            await expect(page.get_by_test_id("view-verification")).to_be_visible()

            # a code that is not a county's is refused in the page, without a request
            await page.get_by_test_id("verification-county").fill("22")
            await page.get_by_test_id("verification-refresh").click()
            await expect(page.get_by_test_id("verification-row")).to_have_count(0)

            await page.get_by_test_id("verification-county").fill(county)
            await page.get_by_test_id("verification-refresh").click()
            rows = page.get_by_test_id("verification-row")
            await expect(rows).to_have_count(2)
            # in the order the paper lists departments: public security first
            assert await rows.evaluate_all("rs => rs.map(r => r.dataset.department)") == [
                "PUBLIC_SECURITY",
                "HUMAN_RESOURCES",
            ]
            await expect(rows.first.locator("td").first).to_have_text("公安（户籍、车辆）")
            assert await _counts(rows.nth(0)) == {
                "received": 1,
                "answered": 1,
                "withdrawn": 0,
                "pending": 0,
                "overdue": 0,
            }
            assert await _counts(rows.nth(1)) == {
                "received": 1,
                "answered": 0,
                "withdrawn": 0,
                "pending": 1,
                "overdue": 1,
            }
            await expect(rows.nth(1).get_by_test_id("verification-overdue")).to_have_class(
                "num overdue"
            )
            total = page.get_by_test_id("verification-total")
            assert (await _counts(total))["received"] == 2
            await expect(page.get_by_test_id("status")).to_contain_text("逾期 1 件")
            await _shot(page, "verification")

            # counts only: no member's name or ID number anywhere on the page
            text = await page.locator("body").inner_text()
            leaked = [value for pair in people.items() for value in pair if value in text]
            assert leaked == []

            # a county that sent nothing says so
            await page.get_by_test_id("verification-county").fill("520102")
            await page.get_by_test_id("verification-refresh").click()
            await expect(page.get_by_test_id("verification-empty")).to_be_visible()
            await expect(rows).to_have_count(0)

            # which partner saw a subject's clear ID number: the events, searched by it
            await page.get_by_test_id("tab-events").click()
            head = next(iter(people))
            await page.get_by_test_id("filter-person").fill(head)
            await _load(page, "filter-apply")
            await expect(page.get_by_test_id("event-row").first).to_be_visible()
            principals = {row["principal"] for row in await _rows(page)}
            # the two whose queues showed the number in clear; not those whose queues were
            # empty
            assert {"gongan", "renshe"} <= principals
            assert principals.isdisjoint({"gongan-gz", "shuiwu"})
            assert head not in await page.get_by_test_id("app").inner_text()
            await page.get_by_test_id("tab-verification").click()

            # English on request
            await page.get_by_test_id("verification-county").fill(county)
            await page.get_by_test_id("verification-refresh").click()
            await expect(rows).to_have_count(2)
            await page.get_by_test_id("lang-toggle").click()
            await expect(page.get_by_test_id("tab-verification")).to_have_text("Verification")
            await expect(rows.first.locator("td").first).to_have_text(
                "Public security (registration, vehicles)"
            )
            await context.close()
        finally:
            await browser.close()

    assert [p for p in problems if p] == []
