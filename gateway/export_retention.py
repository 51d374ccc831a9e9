"""Export files past their keeping time (DIBAO_EXPORT_KEEP_DAYS) are deleted.

A payment roll holds every payee's ID number and account in clear: it is made for a
payment run, and kept only as long as that needs. The server deletes expired files
at start and then hourly; `dibao export purge` does it at once. Each transaction
deletes at most PURGE_BATCH files and writes one audit entry, in the same
transaction, naming the exports whose files went (ids only). The register's rows,
with who took which file and its SHA-256, stay; a download of an expired export is
410 EXPORT_EXPIRED whether or not its file is gone yet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from audit import fields as F
from audit.chain import AuditChain
from audit.record import AuditRecord
from store.exports import Sessions, purge_files

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = logging.getLogger("dibao.exports")
PURGE_SECONDS = 3600  # how often a server looks for expired files
OPERATION_EXPORT_PURGE = "export_purge"
SERVER = "system:export-retention"  # who the server's purge entries name


def expired(created_at: dt.datetime, *, now: dt.datetime, keep_days: int) -> bool:
    return created_at <= now - dt.timedelta(days=keep_days)


async def purge_expired(
    sessions: Sessions,
    chain: AuditChain,
    *,
    keep_days: int,
    now: dt.datetime,
    by: str,
    client: str,
) -> int:
    """Delete every expired file, a batch per transaction, each batch audited; returns
    how many files went."""
    before = now - dt.timedelta(days=keep_days)
    purged = 0
    while True:
        record = AuditRecord(
            time=now,
            client=client,
            trace_id=None,
            principal=by,
            operation_type=OPERATION_EXPORT_PURGE,
            operation_name="purge expired exports",
        )
        try:
            async with sessions.begin() as session:
                ids = await purge_files(session, before=before, now=now)
                if not ids:
                    return purged
                record.variables = {
                    "keepDays": keep_days,
                    "takenBefore": before.isoformat(timespec="seconds"),
                    "exports": ids,
                }
                record.outcome = F.ALLOWED
                seq = await chain.append(session, record.as_dict())
        except BaseException:
            chain.forget_head()
            raise
        chain.committed(seq)
        purged += len(ids)


async def purge_every(runtime: Runtime, chain: AuditChain) -> None:
    """At start, then every PURGE_SECONDS; a failed run is retried at the next."""
    while True:
        try:
            gone = await purge_expired(
                runtime.sessions,
                chain,
                keep_days=runtime.settings.export_keep_days,
                now=runtime.clock(),
                by=SERVER,
                client="server",
            )
            if gone:
                log.info("deleted %s expired export files", gone)
        except Exception as exc:
            log.warning("expired export files not deleted (%s)", type(exc).__name__)
        await asyncio.sleep(PURGE_SECONDS)
