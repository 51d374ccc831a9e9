"""`GET /documents/{id}`: a scanned document's bytes, to a caller the policy allows.

The same pipeline as `/graphql`, shortened to one object: authenticate, the
credential's rate limit, the policy's decision on `Document.content`, the
document found through the caller's region scope in SQL, one audit entry on the
same chain (written before any byte leaves), then the bytes as an attachment.

A document outside the caller's scope is NOT_FOUND exactly as an unknown id:
one statement decides both (store.documents.document_in_scope), and the answer,
its status and its body are the same. The policy's refusal comes before that
statement and does not depend on the id, so it tells nothing of one either.
"""

from __future__ import annotations

import logging
import time

from opentelemetry import trace
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from audit import fields as F
from audit.logsafe import describe
from audit.record import REDACTED, AuditRecord
from domain.documents import ACCEPTED_TYPES
from domain.principal import Principal
from gateway.auth import authenticate, peer_fingerprint
from gateway.endpoint import GraphQLEndpoint, client_address
from gateway.tracing import current_trace_id
from policies.engine import Decision
from schema.errors import error_body
from store.documents import (
    DocumentDamaged,
    document_in_scope,
    is_document_id,
    read_content,
    store_for,
)

log = logging.getLogger("dibao.documents")
CONTENT = "Document.content"  # the policy object that decides who fetches bytes
NOT_FOUND = "No such document in your region."
_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
}


# headers of every file served: an attachment, never sniffed, cached or run
ATTACHMENT_HEADERS = {
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; sandbox",
}


class FileDownload:
    """A GET that serves one stored file: the request's span and audit entry (written by
    the GraphQL endpoint's `settle`, before any byte leaves), a code for whatever
    breaks, and the caller authenticated and charged as on /graphql. A subclass finds
    and decides the file (`_serve`)."""

    operation_type: str
    span_name: str
    what: str  # in the log and the INTERNAL message: "document", "file"

    def __init__(self, graphql: GraphQLEndpoint) -> None:
        self.graphql = graphql
        self.runtime = graphql.runtime
        self.tracer = trace.get_tracer(
            "dibao.gateway", tracer_provider=self.runtime.tracer_provider
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        started = time.perf_counter()
        record = AuditRecord(
            time=self.runtime.clock(), client=client_address(scope), trace_id=current_trace_id()
        )
        record.operation_type = self.operation_type
        with self.tracer.start_as_current_span(self.span_name) as span:
            try:
                response = await self._serve(request, record)
            except Exception as exc:  # whatever broke, the caller gets a code; audited
                log.error("%s download failed: %s", self.what, describe(exc))
                record.error_codes = ["INTERNAL"]
                response = JSONResponse(
                    error_body("INTERNAL", f"Internal error. The {self.what} was not served."),
                    status_code=500,
                )
            response = await self.graphql.settle(record, response, started)
            span.set_attribute(F.ATTR_OUTCOME, record.outcome)
        await response(scope, receive, send)

    async def _serve(self, request: Request, record: AuditRecord) -> Response:
        raise NotImplementedError

    async def _caller(self, request: Request, record: AuditRecord) -> Principal | Response:
        """The authenticated caller, named in the record and charged to its rate limit;
        or the refusal to answer with (401, 429)."""
        principal = await authenticate(
            request,
            self.runtime.reader,
            fingerprint=peer_fingerprint(request.scope),
            cache=self.graphql.credentials,
        )
        if principal is None:
            if (refused := self.graphql.over_anonymous_limit(request)) is not None:
                return refused
            record.error_codes = ["UNAUTHENTICATED"]
            return JSONResponse(
                error_body("UNAUTHENTICATED", "A valid bearer token is required."),
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="dibao"'},
            )
        self.graphql.name_caller(record, principal)
        if (refused := self.graphql.over_credential_limit(record, principal)) is not None:
            return refused
        if request.method != "GET":
            # every method is routed here so that its refusal is audited; a HEAD answered
            # as a GET would say a file was taken when no byte of it left (and a sealed
            # export would be opened whole for nothing)
            record.error_codes = ["BAD_USER_INPUT"]
            return JSONResponse(
                error_body("BAD_USER_INPUT", f"Fetch the {self.what} with GET."),
                status_code=405,
                headers={"allow": "GET"},
            )
        return principal


class DocumentDownloads(FileDownload):
    operation_type = F.OPERATION_DOWNLOAD
    span_name = F.SPAN_DOWNLOAD
    what = "document"

    def __init__(self, graphql: GraphQLEndpoint) -> None:
        super().__init__(graphql)
        self.store = store_for(self.runtime.settings.document_dir)

    async def _serve(self, request: Request, record: AuditRecord) -> Response:
        document_id = str(request.path_params.get("document_id", ""))
        record.variables = {"id": document_id if is_document_id(document_id) else REDACTED}
        principal = await self._caller(request, record)
        if isinstance(principal, Response):
            return principal
        decision = self.runtime.policy_engine.decide(principal, CONTENT)
        record.fields = {CONTENT: decision.value}
        if decision is not Decision.CLEAR:
            record.error_codes = ["FORBIDDEN"]
            return JSONResponse(
                error_body("FORBIDDEN", "Your role may not fetch scanned documents."),
                status_code=403,
            )
        async with self.runtime.sessions() as session:
            row = await document_in_scope(session, scope=principal.scope, document_id=document_id)
            if row is None:
                record.error_codes = ["NOT_FOUND"]
                return JSONResponse(error_body("NOT_FOUND", NOT_FOUND), status_code=404)
            record.archive_nos = [row.archive_no]
            try:
                data = await read_content(session, self.runtime.cipher, self.store, row)
            except DocumentDamaged as exc:
                log.error("document %s not served: %s", row.id, exc)
                record.error_codes = ["INTERNAL"]
                return JSONResponse(
                    error_body("INTERNAL", "The document cannot be read; it was not served."),
                    status_code=500,
                )
        # only types this service accepted are named; anything else is opaque bytes
        media = row.content_type if row.content_type in ACCEPTED_TYPES else None
        extension = _EXTENSIONS.get(row.content_type, "bin")
        return Response(
            data,
            media_type=media or "application/octet-stream",
            headers={
                "content-disposition": f'attachment; filename="{row.id}.{extension}"',
                **ATTACHMENT_HEADERS,
            },
        )
