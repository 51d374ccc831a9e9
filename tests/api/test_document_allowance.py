"""The daily allowance of scanned documents per principal (DIBAO_DOCUMENT_DAILY_MB): a
credential cannot fill the archive's disk with the 500 documents × 20 MB each household
may hold. Over it, an upload is 429 RATE_LIMITED with Retry-After at Beijing midnight,
stores nothing, and is audited; the next day, or another principal, files again."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from gateway.config import Settings
from gateway.runtime import Runtime
from store.models import ArchiveDocument
from tests.api.documents_helpers import household_with_worker, pdf, upload
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token

BEIJING = dt.timezone(dt.timedelta(hours=8))
SCAN = pdf(b"\x00" * 400_000)  # three of them are more than one megabyte


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, document_daily_mb=1)


def at(runtime: Runtime, moment: dt.datetime) -> None:
    runtime.clock = lambda: moment.astimezone(dt.UTC)


async def stored(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ArchiveDocument)) or 0)


async def test_over_the_daily_allowance_an_upload_waits_for_tomorrow(
    api: Api, runtime: Runtime
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    at(runtime, dt.datetime(2026, 11, 30, 22, 0, tzinfo=BEIJING))
    for _ in range(2):
        filed = await upload(api, worker, archive, SCAN)
        assert filed.status_code == 200 and "errors" not in filed.json(), filed.text
    refused = await upload(api, worker, archive, SCAN)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(2 * 3600 + 1)  # Beijing midnight
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["field"] == "file"
    assert "DIBAO_DOCUMENT_DAILY_MB" in error["message"]
    assert await stored(runtime) == 2
    last = (await entries(runtime))[-1]
    assert last["principal"] == "cw-docs" and last["error_codes"] == ["RATE_LIMITED"]

    # another caseworker of the township has its own allowance
    other = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-qin")
    assert "errors" not in (await upload(api, other, archive, SCAN)).json()
    # after midnight in Beijing (16:00 UTC), the first one files again
    at(runtime, dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=BEIJING))
    assert "errors" not in (await upload(api, worker, archive, SCAN)).json()
    assert await stored(runtime) == 4


async def test_one_upload_larger_than_the_allowance_is_refused_whole(
    api: Api, runtime: Runtime
) -> None:
    archive, worker = await household_with_worker(api, runtime)
    refused = await upload(api, worker, archive, pdf(b"\x00" * (2**20 + 1)))
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert await stored(runtime) == 0
