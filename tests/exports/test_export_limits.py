"""What one credential can make the server do with files (attack review, 2026-12-03):
an export reads a whole scope, so each principal takes at most DIBAO_EXPORTS_PER_DAY a
day and one at a time; a bank's result file is parsed off the event loop, and its lines,
blank ones included, count towards its bound."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import zipfile
from collections.abc import Callable
from typing import IO, Any

import pytest

from gateway.config import Settings
from gateway.runtime import Runtime
from resolvers import exports, legacy_files
from store import exports as export_store
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.exports.helpers import code, request, ticket, upload_return
from tests.exports.test_payment_roll import paid_batch
from tests.helpers import issue_token, load_regions
from tests.workflow.test_payments import COUNTY

BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, exports_per_day=3)


@pytest.fixture
async def finance(runtime: Runtime) -> str:
    await load_regions(runtime)
    return await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")


ROLL = "mutation($b: ID!) { requestExport(kind: PAYMENT_ROLL, params: {batchId: $b}) { id } }"


async def test_a_principal_takes_its_daily_allowance_of_exports_and_no_more(
    api: Api, runtime: Runtime, finance: str
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    moment = dt.datetime(2026, 11, 30, 23, 0, tzinfo=BEIJING)
    runtime.clock = lambda: moment.astimezone(dt.UTC)
    for _ in range(3):
        ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))
    refused = await api.post(finance, ROLL, {"b": batch_id})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(3600 + 1)  # Beijing midnight
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert entries_of_kind(await entries(runtime)) == 3  # the refused one wrote no file
    # the next day in Beijing, the allowance is whole again
    moment = dt.datetime(2026, 12, 1, 0, 0, 5, tzinfo=BEIJING)
    ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id}))


def entries_of_kind(log: list[dict[str, object]]) -> int:
    return sum(1 for e in log if isinstance(e.get("export"), dict))


# on SQLite the single writer already runs one mutation at a time: the guard is for the
# server whose exports would otherwise run side by side
@pytest.mark.postgres_only
async def test_one_export_at_a_time_per_principal(
    api: Api, runtime: Runtime, finance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    written = exports.produce

    async def slow(*args: Any, **kwargs: Any) -> Any:  # a county's roll takes a while
        await asyncio.sleep(0.5)
        return await written(*args, **kwargs)

    monkeypatch.setattr(exports, "produce", slow)
    first, second = await asyncio.gather(
        api.post(finance, ROLL, {"b": batch_id}), api.post(finance, ROLL, {"b": batch_id})
    )
    assert sorted([first.status_code, second.status_code]) == [200, 429]
    busy = first if first.status_code == 429 else second
    assert busy.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert busy.headers["retry-after"] == "5"
    # once it is written, the next one runs
    assert (await api.post(finance, ROLL, {"b": batch_id})).status_code == 200


# two server processes (`--workers 2`) do not see each other's exports in memory: the
# database's lock makes "one at a time per principal" and the day's count hold across
@pytest.mark.postgres_only
async def test_an_export_another_process_is_writing_holds_off_the_next(
    api: Api, runtime: Runtime, finance: str
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    async with runtime.sessions.begin() as other:  # another process writing fin-dehui's
        assert await export_store.claim_export_writer(other, principal="fin-dehui")
        busy = await api.post(finance, ROLL, {"b": batch_id})
        assert busy.status_code == 429
        assert busy.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert busy.headers["retry-after"] == "5"
        # another principal's export is not held off
        colleague = await issue_token(runtime, "finance_officer", COUNTY, principal="fin-other")
        assert (await api.post(colleague, ROLL, {"b": batch_id})).status_code == 200
    # the other process's transaction ended: the next one runs
    assert (await api.post(finance, ROLL, {"b": batch_id})).status_code == 200


async def test_blank_lines_of_a_bank_file_count_towards_its_bound(
    api: Api, runtime: Runtime, finance: str
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    padded = "付款编号,结果,银行流水号,失败原因\n".encode() + b",\n" * 500_000
    refused = await upload_return(api, finance, batch_id, padded)
    assert code(refused) == "BAD_USER_INPUT"
    # the lines, blank ones too, are counted as they are read: a CSV past a register's
    # 400,000 rows stops there (resolvers/legacy_files.py), before anything is matched
    assert "400000" in refused["errors"][0]["message"]


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _bank_workbook(shared: Callable[[IO[bytes]], None]) -> bytes:
    """A bank's result file as .xlsx whose one cell is shared string 0, `shared` writing
    the body of xl/sharedStrings.xml (deflated) however it likes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{_PKG}/content-types"><Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'sharedStrings+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            f'Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{_MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
            "</row></sheetData></worksheet>",
        )
        with z.open("xl/sharedStrings.xml", "w") as part:
            shared(part)
    return buf.getvalue()


async def test_a_bank_workbook_inflating_past_its_bound_is_refused_before_it_is_read(
    api: Api, runtime: Runtime, finance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip bomb in the shared strings (attack review, 2026-12-04): calamine reads
    sharedStrings.xml whole when it opens the book, and only the sheets were counted,
    so a 200 KB upload took 820 MB and a 20 MB one would take the process down. Every
    part counts now; the bound is lowered here so the test inflates 8 MB, not 512."""
    batch_id, _ = await paid_batch(api, runtime, finance)
    monkeypatch.setattr(legacy_files, "MAX_XLSX_UNPACKED", 4 << 20)

    def bomb(part: IO[bytes]) -> None:
        part.write(f'<sst xmlns="{_MAIN}" count="1" uniqueCount="1"><si><t>'.encode())
        for _ in range(8):
            part.write(b"A" * (1 << 20))
        part.write(b"</t></si></sst>")

    data = _bank_workbook(bomb)
    assert len(data) < 64 << 10
    refused = await upload_return(api, finance, batch_id, data)
    assert code(refused) == "BAD_USER_INPUT"
    assert "解压后过大" in refused["errors"][0]["message"], refused

    # a part whose deflated bytes are damaged is a file we cannot read, not INTERNAL
    for name in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
        good = _bank_workbook(lambda part: part.write(bytes(range(256)) * 64))
        part = zipfile.ZipFile(io.BytesIO(good)).getinfo(name)
        at = part.header_offset + 30 + len(part.filename) + len(part.extra)  # its data
        damaged = good[:at] + b"\xff" * 8 + good[at + 8 :]
        refused = await upload_return(api, finance, batch_id, damaged)
        assert code(refused) == "BAD_USER_INPUT", (name, refused)
        assert "无法读取" in refused["errors"][0]["message"], (name, refused)
