"""The console's exports page (导出文件), in a real browser over `dibao serve`: a security
officer sees who took which file — its kind, the principal, the row count and the
SHA-256 — and never a value from the file (issue 20)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.console.test_console_e2e import (
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    _console_problem,
    _login,
    _shot,
)
from tests.exports.helpers import fetch, request, sheet, ticket
from tests.exports.test_payment_roll import paid_batch
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions
from tests.workflow.test_payments import BANK, COUNTY


@pytest.mark.sqlite_only
async def test_a_security_officer_sees_who_took_which_file_and_no_person(
    chromium: Path, server: str, api: Api, runtime: Runtime
) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    await load_regions(runtime)
    finance = await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")
    batch_id, _ = await paid_batch(api, runtime, finance)
    roll = ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    data = (await fetch(api, finance, roll["id"])).content
    assert hashlib.sha256(data).hexdigest() == roll["sha256"]
    # what the file holds in clear: the payees' names, ID numbers and accounts
    personal = {cell for line in sheet(data, "XLSX")[1:-1] for cell in line[3:6]} | {BANK}
    assert len(personal) > 3
    caseworker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-gs")
    listing = ticket(
        await request(
            api, caseworker, "PUBLIC_LIST", {"region": CASEWORKER_TOWNSHIP, "format": "CSV"}
        )
    )
    auditor = await issue_token(runtime, "auditor", "*", principal="auditor-ex")
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
            # the events tab loads on sign-in and writes the status line when it ends;
            # the exports tab's own status is read below, so that load must end first
            await expect(page.get_by_test_id("status")).to_contain_text("条事件")

            await page.get_by_test_id("tab-exports").click()
            await expect(page.get_by_test_id("tab-exports")).to_have_text("导出文件")
            await expect(page.get_by_test_id("view-exports")).to_be_visible()
            rows = page.get_by_test_id("export-row")
            await expect(rows).to_have_count(2)
            cells = await rows.evaluate_all(
                "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
            )
            # newest first: the public list, then the roll; kind, who, rows, SHA-256
            by_sha = {row[6]: row for row in cells}
            assert set(by_sha) == {roll["sha256"], listing["sha256"]}
            taken = by_sha[roll["sha256"]]
            assert taken[1] == "fin-dehui" and taken[3].endswith("(XLSX)")
            assert batch_id in taken[4] and taken[5] == str(roll["rowCount"]) == "4"
            public = by_sha[listing["sha256"]]
            assert public[1] == "cw-gs" and public[3].endswith("(CSV)")
            assert CASEWORKER_TOWNSHIP in public[4] and public[5] == str(listing["rowCount"])
            assert [row[6] for row in cells] == [listing["sha256"], roll["sha256"]]
            await expect(page.get_by_test_id("status")).to_contain_text("2")
            await _shot(page, "exports")

            # the register, never the file: no payee's name, ID number or account
            text = await page.locator("body").inner_text()
            assert [value for value in personal if value and value in text] == []
            await context.close()
        finally:
            await browser.close()

    assert [p for p in problems if p] == []
