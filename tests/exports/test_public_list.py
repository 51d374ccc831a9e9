"""The public list (公示) of a township or county: the fixed masking rule, the same file
for every caller, nothing personal beyond it (issue 20). Both backends."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from gateway.runtime import Runtime
from store.models import Member
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.exports.helpers import code, fetch, request, sheet, ticket
from tests.helpers import CASEWORKER_TOWNSHIP, RURAL_VILLAGE, issue_token, load_regions
from tests.workflow.test_payments import BANK, COUNTY, household

ID_NUMBER = re.compile(r"[0-9]{17}[0-9Xx]")
# a compound surname, a one-character name, and a name that is a spreadsheet formula
NAMES = ("欧阳明月", "李", '=HYPERLINK("http://x","点我")', "王建国")


async def _rename(runtime: Runtime, archive_no: str, name: str) -> None:
    async with runtime.sessions.begin() as session:
        row = await session.scalar(select(Member).where(Member.archive_no == archive_no))
        assert row is not None
        row.name_enc = runtime.cipher.encrypt(name, table="members", column="name", row_id=row.id)


async def _archive(runtime: Runtime) -> list[str]:
    listed = []
    for name, benefit, village in zip(
        NAMES, ("512.30", "200.00", "99.99", "300.01"), ("220183100001", RURAL_VILLAGE, "220183100001", RURAL_VILLAGE), strict=True
    ):  # fmt: skip
        archive = await household(runtime, benefit=benefit, village=village)
        await _rename(runtime, archive, name)
        listed.append(archive)
    await household(runtime, status="SUSPENDED")  # not receiving: not listed
    await household(runtime, status="NOTICE")
    await household(runtime, village="220183101001")  # another township of the county
    return listed


@pytest.mark.parametrize("fmt", ["XLSX", "CSV"])
async def test_the_list_shows_masked_names_and_nothing_else(
    api: Api, runtime: Runtime, fmt: str
) -> None:
    await load_regions(runtime)
    await _archive(runtime)
    caseworker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", COUNTY)
    params = {"region": CASEWORKER_TOWNSHIP, "format": fmt}
    made = ticket(await request(api, caseworker, "PUBLIC_LIST", params))
    assert made["rowCount"] == 4 and made["totalAmount"] == "1112.30"
    data = (await fetch(api, caseworker, made["id"])).content
    rows = sheet(data, fmt)
    assert rows[0] == ["村（社区）", "户主姓名", "保障人数", "月保障金（元）"]
    formula = "'=*" if fmt == "CSV" else "=*"  # quoted where office software would run it
    assert sorted(r[1] for r in rows[1:]) == sorted(["欧*", "*", formula, "王*"])
    assert all(Decimal(r[2]) == 1 for r in rows[1:])  # one member each
    assert sum(Decimal(r[3]) for r in rows[1:]) == Decimal("1112.30")

    # a scan of every cell and of the bytes: no clear name, ID number or account
    cells = " ".join(c for r in rows for c in r)
    for name in NAMES:
        assert name not in cells
    assert ID_NUMBER.search(cells) is None and BANK not in cells
    if fmt == "CSV":
        text = data.decode("utf-8-sig")
        assert ID_NUMBER.search(text) is None and "明月" not in text and "建国" not in text
        assert "=HYPERLINK" not in text  # never a formula, whatever the name holds

    # the same rule for every caller: the county reviewer's file of the township
    again = ticket(await request(api, reviewer, "PUBLIC_LIST", params))
    assert sheet((await fetch(api, reviewer, again["id"])).content, fmt) == rows


async def test_who_may_take_the_list_and_of_where(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    caseworker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    finance = await issue_token(runtime, "finance_officer", COUNTY)
    supervisor = await issue_token(runtime, "supervisor", "22")
    for token in (finance, supervisor):
        body = await request(api, token, "PUBLIC_LIST", {"region": CASEWORKER_TOWNSHIP})
        assert code(body) == "FORBIDDEN", body
    for region in (COUNTY, "220183101", "520121100", "22", "220183100001", "ab"):
        body = await request(api, caseworker, "PUBLIC_LIST", {"region": region})
        assert code(body) == "BAD_USER_INPUT", (region, body)


async def test_a_head_request_takes_no_file_and_is_audited_as_refused(
    api: Api, runtime: Runtime
) -> None:
    """Starlette answers HEAD on a GET route: a HEAD of a file is refused (405) and
    its one entry says so; it is not recorded as the file taken, and a GET after it
    still serves the file."""
    await load_regions(runtime)
    await _archive(runtime)
    caseworker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    made = ticket(await request(api, caseworker, "PUBLIC_LIST", {"region": CASEWORKER_TOWNSHIP}))
    before = len(await entries(runtime))
    headers = {"authorization": f"Bearer {caseworker}"}
    head = await api.client.head(f"/exports/{made['id']}", headers=headers)
    assert head.status_code == 405
    assert head.headers["allow"] == "GET"
    (entry,) = (await entries(runtime))[before:]
    assert entry["operation_type"] == "export_download"
    assert entry["error_codes"] == ["BAD_USER_INPUT"] and entry["http_status"] == 405
    assert "export" not in entry  # no file was named as taken
    # nor any other method: refused by the download itself, with its one entry
    posted = await api.client.post(f"/exports/{made['id']}", headers=headers)
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"
    (entry,) = (await entries(runtime))[before + 1 :]
    assert entry["operation_type"] == "export_download" and entry["outcome"] == "invalid"
    before += 1
    got = await fetch(api, caseworker, made["id"])
    assert got.status_code == 200 and sheet(got.content, "XLSX")[0][0] == "村（社区）"
    (taken,) = (await entries(runtime))[before + 1 :]
    assert taken["http_status"] == 200 and taken["export"]["rows"] == 4
