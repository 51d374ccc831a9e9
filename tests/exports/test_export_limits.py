"""What one credential can make the server do with files (attack review, 2026-12-03):
an export reads a whole scope, so each principal takes at most DIBAO_EXPORTS_PER_DAY a
day and one at a time; a bank's result file is parsed off the event loop, and its lines,
blank ones included, count towards its bound."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import pytest

from gateway.config import Settings
from gateway.runtime import Runtime
from resolvers import exports
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
