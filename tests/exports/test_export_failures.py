"""An export that fails midway (attack review, 2026-12-04): no file is kept, and the
attempt leaves exactly one audit entry, through the API and through `dibao export`
alike. Both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from domain.exports import ExportKind
from domain.principal import Principal
from gateway import cli_exports
from gateway.runtime import Runtime
from resolvers import exports as resolver
from resolvers.exports import ExportParams
from store.models import Export
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.exports.helpers import request
from tests.exports.test_payment_roll import paid_batch
from tests.helpers import issue_token, load_regions
from tests.workflow.test_payments import COUNTY


@pytest.fixture
async def finance(runtime: Runtime) -> str:
    await load_regions(runtime)
    return await issue_token(runtime, "finance_officer", COUNTY, principal="fin-dehui")


def _breaking(monkeypatch: pytest.MonkeyPatch) -> None:
    """The roll's rows fail after the first chunk: the file is half written."""
    rows = resolver.store.roll_lines

    async def broken(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async for chunk in rows(*args, **kwargs):
            yield chunk
            raise RuntimeError("the connection went away")

    monkeypatch.setattr(resolver.store, "roll_lines", broken)


async def _kept(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Export)) or 0)


async def test_a_request_failing_midway_keeps_no_file_and_is_audited_once(
    api: Api, runtime: Runtime, finance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    before = len(await entries(runtime))
    _breaking(monkeypatch)
    body = await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id})
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL", body
    log = (await entries(runtime))[before:]
    assert [(e["operation_type"], e["error_codes"]) for e in log] == [("mutation", ["INTERNAL"])]
    assert "export" not in log[0]
    assert await _kept(runtime) == 0


async def test_an_operator_export_failing_midway_is_audited_once(
    api: Api, runtime: Runtime, finance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch_id, _ = await paid_batch(api, runtime, finance)
    before = len(await entries(runtime))
    _breaking(monkeypatch)
    operator = Principal(credential_id="cli", name="fin-cli", role="finance_officer", scope=COUNTY)
    with pytest.raises(RuntimeError):
        await cli_exports._export(
            runtime,
            kind=ExportKind.PAYMENT_ROLL,
            params=ExportParams(batch_id=batch_id),
            principal=operator,
        )
    log = (await entries(runtime))[before:]
    assert [(e["operation_type"], e["principal"], e["error_codes"]) for e in log] == [
        ("cli_export", "fin-cli", ["INTERNAL"])
    ]
    assert await _kept(runtime) == 0
