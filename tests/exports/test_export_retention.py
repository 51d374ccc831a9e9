"""Export files are kept DIBAO_EXPORT_KEEP_DAYS (default 7), then refused and deleted,
audited; the register's row, with who took which file and its SHA-256, stays
(issue 20), on both backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from audit.chain import AuditChain
from gateway.config import Settings
from gateway.export_retention import SERVER, purge_expired
from gateway.runtime import Runtime
from store.models import Export, ExportChunk
from store.types import utcnow
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.exports.helpers import EXPORTS, fetch, request, ticket
from tests.exports.test_payment_roll import finance, paid_batch  # noqa: F401 (fixture)
from tests.helpers import issue_token
from tests.workflow.test_payments import COUNTY


async def _age(runtime: Runtime, export_id: str, days: float) -> None:
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Export)
            .where(Export.id == export_id)
            .values(created_at=utcnow() - dt.timedelta(days=days))
        )


async def _pieces(runtime: Runtime, export_id: str) -> int:
    async with runtime.sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(ExportChunk).where(ExportChunk.export_id == export_id)
        )
        return int(found or 0)


async def test_an_expired_file_is_refused_then_deleted_and_audited(
    api: Api,
    runtime: Runtime,
    settings: Settings,
    finance: str,  # noqa: F811
) -> None:
    assert runtime.settings.export_keep_days == 7  # the default
    batch_id, _ = await paid_batch(api, runtime, finance)
    old, fresh, other = [
        ticket(await request(api, finance, "PAYMENT_ROLL", {"batchId": batch_id})) for _ in range(3)
    ]
    await _age(runtime, fresh["id"], 6.9)  # inside the week: still served
    await _age(runtime, old["id"], 7.01)
    await _age(runtime, other["id"], 8)

    # past its time, refused before its file is even deleted; to its taker only
    expired = await fetch(api, finance, old["id"])
    assert expired.status_code == 410
    assert expired.json()["errors"][0]["extensions"]["code"] == "EXPORT_EXPIRED"
    colleague = await issue_token(runtime, "finance_officer", COUNTY, principal="fin-2")
    unknown = await fetch(api, colleague, "0" * 32)
    theirs = await fetch(api, colleague, old["id"])
    assert (theirs.status_code, theirs.json()) == (404, unknown.json())  # no oracle
    [entry] = [e for e in await entries(runtime) if "EXPORT_EXPIRED" in e["error_codes"]]
    assert entry["outcome"] == "refused" and entry["export"]["sha256"] == old["sha256"]
    assert (await fetch(api, finance, fresh["id"])).status_code == 200

    done = await adibao(settings, "export", "purge")
    assert done.returncode == 0, done.stderr
    assert "deleted 2 export files older than 7 days" in done.stdout
    assert [await _pieces(runtime, e["id"]) for e in (old, other)] == [0, 0]
    assert await _pieces(runtime, fresh["id"]) > 0
    assert (await fetch(api, finance, old["id"])).status_code == 410
    assert (await fetch(api, finance, fresh["id"])).status_code == 200
    [purge] = [e for e in await entries(runtime) if e["operation_type"] == "export_purge"]
    assert purge["outcome"] == "allowed" and purge["principal"].startswith("cli:")
    assert sorted(purge["variables"]["exports"]) == sorted([old["id"], other["id"]])
    assert purge["variables"]["keepDays"] == 7

    # the register still says who took which file, with its SHA-256
    auditor = await issue_token(runtime, "auditor", "*")
    listed = (await api.gql(auditor, EXPORTS, {"n": 10}))["data"]["exports"]
    assert {e["id"]: e["sha256"] for e in listed} == {
        e["id"]: e["sha256"] for e in (old, fresh, other)
    }

    # nothing left to delete: no entry; the server's own run (at start, then hourly)
    # deletes the fresh one once it is past its time, on the same chain
    again = await adibao(settings, "export", "purge")
    assert "deleted 0 export files" in again.stdout
    await _age(runtime, fresh["id"], 30)
    chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
    gone = await purge_expired(
        runtime.sessions, chain, keep_days=7, now=utcnow(), by=SERVER, client="server"
    )
    assert gone == 1 and await _pieces(runtime, fresh["id"]) == 0
    purges = [e for e in await entries(runtime) if e["operation_type"] == "export_purge"]
    assert len(purges) == 2 and purges[-1]["principal"] == SERVER
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
