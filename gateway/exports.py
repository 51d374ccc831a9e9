"""`GET /exports/{id}`: a file `requestExport` wrote, to the principal who asked for it.

The same pipeline as `/documents/{id}` (gateway/downloads.py): authenticate, the
credential's rate limit, the export found in SQL by its id *and* the caller's
principal, then the policy's decision on the export's kind (it may have changed
since the file was written), one audit entry naming the file's SHA-256 on the same
chain, written before any byte leaves, and the bytes as an attachment.

Another principal's export, one taken in a scope the caller no longer holds, and an
unknown id are the same NOT_FOUND, with the same status and body: the id of
someone else's file tells its holder nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import IO

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from audit import fields as F
from audit.record import REDACTED, AuditRecord
from domain.errors import ExportExpired, FileDamaged
from domain.exports import (
    MEDIA_TYPES,
    POLICY_OBJECTS,
    ROLL_COLUMNS,
    ExportFormat,
    ExportKind,
    columns_still_readable,
    file_name,
    is_row_id,
)
from gateway.downloads import ATTACHMENT_HEADERS, FileDownload
from gateway.export_retention import expired
from policies.engine import Decision
from resolvers.exports import summary
from schema.errors import error_body
from store.crypto import Cipher
from store.exports import ExportDamaged, export_of, fetch_export, open_pieces
from store.models import Export

log = logging.getLogger("dibao.exports")
NOT_FOUND = "No such export of yours."
EXPIRED = (
    "This export's file is past its keeping time (DIBAO_EXPORT_KEEP_DAYS) and is deleted; "
    "request the export again. (文件已过期)"
)
NARROWED = (
    "Your role no longer reads every column of this file as it was written; "
    "request the export again. (权限已变更，请重新导出)"
)
DAMAGED = "The stored file failed its integrity check; it was not served. (文件校验失败，未下载)"


class ExportDownloads(FileDownload):
    operation_type = F.OPERATION_EXPORT_DOWNLOAD
    span_name = F.SPAN_EXPORT_DOWNLOAD
    what = "file"

    async def _serve(self, request: Request, record: AuditRecord) -> Response:
        export_id = str(request.path_params.get("export_id", ""))
        record.variables = {"id": export_id if is_row_id(export_id) else REDACTED}
        principal = await self._caller(request, record)
        if isinstance(principal, Response):
            return principal
        not_found = JSONResponse(error_body("NOT_FOUND", NOT_FOUND), status_code=404)
        if not is_row_id(export_id):
            record.error_codes = ["NOT_FOUND"]
            return not_found
        async with self.runtime.sessions() as session:
            row = await export_of(
                session, export_id=export_id, principal=principal.name, scope=principal.scope
            )
            if row is None:
                record.error_codes = ["NOT_FOUND"]
                return not_found
            obj = POLICY_OBJECTS[ExportKind(row.kind)]
            decision = self.runtime.policy_engine.decide(principal, obj, write=True)
            record.fields = {obj: decision.value}
            if decision is not Decision.WRITE:
                record.error_codes = ["FORBIDDEN"]
                return JSONResponse(
                    error_body("FORBIDDEN", "Your role may no longer take this kind of file."),
                    status_code=403,
                )
            if row.kind == ExportKind.PAYMENT_ROLL.value:
                # the personal columns as the policy reads them for the caller now: a
                # column revoked or narrowed since the roll was written is not served
                # from it (the roll's own audit entry named the decisions it was written by)
                now = {
                    column: self.runtime.policy_engine.decide(principal, column).value
                    for column in ROLL_COLUMNS
                }
                if not columns_still_readable(row.params.get("columns"), now):
                    record.fields.update(now)
                    record.error_codes = ["FORBIDDEN"]
                    return JSONResponse(error_body("FORBIDDEN", NARROWED), status_code=403)
        record.export = summary(row)
        if row.purged_at is not None or expired(
            row.created_at,
            now=self.runtime.clock(),
            keep_days=self.runtime.settings.export_keep_days,
        ):
            record.error_codes = [ExportExpired.code]
            return JSONResponse(error_body(ExportExpired.code, EXPIRED), status_code=410)
        try:
            spool = await fetch_export(self.runtime.sessions, self.runtime.cipher, row)
        except ExportDamaged as exc:
            log.error("export %s not served: %s", row.id, exc)
            record.error_codes = [FileDamaged.code]
            return JSONResponse(error_body(FileDamaged.code, DAMAGED), status_code=500)
        fmt = ExportFormat(row.format)
        return StreamingResponse(
            _served(spool, self.runtime.cipher, row),
            media_type=MEDIA_TYPES[fmt],
            headers={
                "content-disposition": (
                    f'attachment; filename="{file_name(ExportKind(row.kind), fmt, row.id)}"'
                ),
                "content-length": str(row.size),
                **ATTACHMENT_HEADERS,
            },
        )


async def _served(spool: IO[bytes], cipher: Cipher, row: Export) -> AsyncIterator[bytes]:
    """The checked file, a piece at a time, each opened in a thread as it is sent."""
    pieces = open_pieces(spool, cipher, row)
    try:
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            yield piece
    finally:
        pieces.close()  # and with it the spool, if the client went away early
