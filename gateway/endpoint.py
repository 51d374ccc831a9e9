"""`/graphql`: the request pipeline every call goes through, in this order:

authenticate → read the body → resolve trusted documents → execute (the policy
gate decides every field inside) → write exactly one audit entry → respond.

The audit entry is written before any byte of the response: for a mutation in
the same transaction as its changes (commit both or neither); for a read in its
own. If it cannot be written, the caller gets an error and no data.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError
from opentelemetry import trace
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from audit import fields as F
from audit.chain import AuditChain
from audit.group import Connection, GroupCommit
from audit.logsafe import describe
from audit.lookups import as_probe, lookup
from audit.record import MAX_NAME, AuditRecord, outcome_for
from domain.errors import DomainError, Forbidden, InvalidInput
from domain.principal import Principal
from gateway.auth import CredentialCache, authenticate, peer_fingerprint
from gateway.charging import RETRY_AFTER, charge_for, charge_lookups
from gateway.compiled import CompiledReads
from gateway.context import RequestContext
from gateway.document_limits import read_text
from gateway.documents import (
    PREFIX,
    document_id_of,
    load_document,
)
from gateway.graphiql import ide_page
from gateway.inputs import InputRules
from gateway.media import Media, is_request_error, negotiate, shape
from gateway.multipart import MultipartLimits, MultipartRefused, is_multipart, read_multipart
from gateway.observing import finished
from gateway.persisted import (
    NOT_FOUND_CODE,
    PersistedQueryNotFound,
    Remembered,
    apq_hash,
    is_document_id,
    manifest_id,
    sha256_hex,
)
from gateway.policy_gate import RequestGate
from gateway.ratelimit import ANONYMOUS, AddressLimiter, address_key, retry_after_header
from gateway.runtime import Runtime
from gateway.served import served_schema
from gateway.tracing import current_trace_id
from policies.engine import Decision
from policies.limits import TooComplex
from schema.errors import error_body, format_error
from schema.pricing import pricing
from store.applications import ClaimConflict
from store.db import is_unavailable

log = logging.getLogger("dibao.gateway")
MAX_BODY = 256 * 1024
MAX_VARIABLE_DEPTH = 32
MULTIPART_LIMITS = MultipartLimits(max_operations=MAX_BODY)
SUMMARY_SECONDS = 60.0  # how often refusals over the anonymous limit are audited in sum
AUDIT_FAILED = "The request could not be recorded in the audit log, so it was not completed."
UNAVAILABLE = "The archive database is unavailable; nothing was done. Retry shortly."


class ORJSONResponse(JSONResponse):
    """Compact UTF-8 JSON, as Starlette's JSONResponse writes it, by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Unrecorded(JSONResponse):
    """A refusal counted instead of audited one by one (see AddressLimiter)."""


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str | None
    document_id: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    # APQ's `extensions.persistedQuery.sha256Hash`: alone, the text is looked up by it;
    # with `query`, the text is registered under it (gateway/persisted.py)
    persisted_hash: str | None = None


def parse_request(body: bytes, content_type: str) -> GraphQLRequest:
    if "application/json" not in content_type:
        raise BadRequest(
            "Send a JSON body (Content-Type: application/json), or files as a GraphQL "
            "multipart request (multipart/form-data).",
            415,
        )
    if len(body) > MAX_BODY:
        raise BadRequest("The request body is too large.", 413)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = _loads_wide(body)
    return request_from(data)


def request_from(data: Any) -> GraphQLRequest:
    """The checks of a request's fields, whether it came as JSON or as the
    `operations` of a multipart request (files already in their places)."""
    if isinstance(data, list):
        raise BadRequest("Batched operations are not accepted; send one operation per request.")
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    query, doc_id = data.get("query"), data.get("documentId")
    variables, name = data.get("variables"), data.get("operationName")
    if not isinstance(data.get("extensions"), dict | None):
        raise BadRequest("`extensions` must be an object.")
    if not isinstance(query, str | None) or not isinstance(doc_id, str | None):
        raise BadRequest("`query` and `documentId` must be strings.")
    try:
        persisted = apq_hash(data.get("extensions"))
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    if "doc_id" in data:  # Relay's name for a persisted document's id
        relay = data["doc_id"]
        found = manifest_id(relay) if isinstance(relay, str) else None
        if found is None or doc_id is not None:
            raise BadRequest("`doc_id` must be the hex digest of a manifest's document, alone.")
        doc_id = found
    if persisted is not None and doc_id is not None:
        raise BadRequest("Send a persisted query's hash or a `documentId`, not both.")
    if (query is None) == (doc_id is None) and not (persisted and query is None):
        raise BadRequest("Send exactly one of `query` or `documentId`.")
    if query is not None and not query.strip():
        raise BadRequest("`query` is empty.")
    if not isinstance(variables, dict | None) or not isinstance(name, str | None):
        raise BadRequest("`variables` must be an object and `operationName` a string.")
    if name is not None and len(name) > MAX_NAME:
        raise BadRequest(f"`operationName` is longer than {MAX_NAME} characters.")
    if _too_deep(variables, 0):
        raise BadRequest(f"Variables nest deeper than {MAX_VARIABLE_DEPTH} levels.")
    if _has_nul(query) or _has_nul(variables) or (query is not None and _NUL_ESCAPE.search(query)):
        raise BadRequest("NUL characters are not accepted in any value.")
    return GraphQLRequest(
        query=query,
        document_id=doc_id,
        variables=variables,
        operation_name=name,
        persisted_hash=persisted,
    )


def _loads_wide(body: bytes) -> Any:
    """What orjson refuses but JSON allows: integers beyond 64 bits. They reach
    GraphQL's own coercion, which names the variable that cannot hold them."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return json.loads(body, parse_constant=refuse)  # NaN, Infinity: not JSON
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None


_NUL_ESCAPE = re.compile(r"\\u0000", re.IGNORECASE)  # a GraphQL string escape for NUL


def _too_deep(value: Any, depth: int) -> bool:
    if depth > MAX_VARIABLE_DEPTH:
        return True
    if isinstance(value, dict):
        return any(_too_deep(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_too_deep(v, depth + 1) for v in value)
    return False


def _has_nul(value: Any) -> bool:
    """PostgreSQL cannot store NUL in text; refuse it at the door (depth is bounded above)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


def settle_claims(
    items: list[dict[str, Any]], errors: Iterable[GraphQLError], *, committed: bool
) -> list[dict[str, Any]]:
    """The claims a request checked, as they turned out: the one found held becomes its
    conflict; in a request that did not commit, the others become probes (the caller
    learned they are free and kept nothing)."""
    conflicts = {c[F.LOOKUP_BLIND_INDEX]: c for c in claim_conflicts(errors)}
    settled = []
    for item in items:
        if item.get(F.LOOKUP_KIND) == F.LOOKUP_CLAIM and not item.get(F.LOOKUP_FOUND):
            clash = conflicts.pop(item[F.LOOKUP_BLIND_INDEX], None)
            if clash is not None:
                item = clash
            elif not committed:
                item = as_probe(item)
        settled.append(item)
    return settled + list(conflicts.values())


def claim_conflicts(errors: Iterable[GraphQLError]) -> list[dict[str, Any]]:
    """Applications refused because an ID number is already claimed: the caller learns
    that much, so the audit keeps whom (blind index) and the claiming county."""
    found = []
    for error in errors:
        original = error.original_error
        if isinstance(original, ClaimConflict) and original.id_index is not None:
            item = lookup(F.LOOKUP_CLAIM, original.id_index, found=True, county=original.county)
            found.append(item)
    return found


def _status(body: dict[str, Any], media: Media) -> int:
    """200 for a GraphQL response; under application/graphql-response+json, 400 for a
    request that never reached execution (the spec's rule; application/json keeps 200)."""
    if media is Media.GRAPHQL_RESPONSE and is_request_error(
        body.get("data"), body.get("errors", [])
    ):
        return 400
    return 200


class GraphQLEndpoint:
    def __init__(self, runtime: Runtime, *, fast_path: bool, ide: bool = False) -> None:
        self.runtime = runtime
        self.schema = served_schema(max_tokens=runtime.limits.max_tokens)
        self.pricing = pricing(self.schema)  # declared on the fields, read once
        self.chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
        # every entry but a mutation's: concurrent requests' entries share one commit
        self.entries = GroupCommit(
            self.chain,
            self._audit_connection,
            observe=lambda seconds, size: runtime.meters.audit_appended(seconds, entries=size),
        )
        self.credentials = CredentialCache()
        self.anonymous = AddressLimiter(runtime.limiter.rate_for(ANONYMOUS))
        self.inputs = InputRules(self.schema._schema, runtime.cipher.keys.audit_key)
        self.tracer = trace.get_tracer("dibao.gateway", tracer_provider=runtime.tracer_provider)
        self.ide = ide  # GraphiQL's page at GET /graphql (gateway/graphiql.py)
        self.persisted = Remembered()  # APQ registrations, per credential
        self.reader = runtime.reader
        self.compiled = (
            CompiledReads(
                self.schema._schema,
                self.reader,
                self.tracer,
            )
            if fast_path
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        # the request's one span is the SERVER span around it (gateway/tracing.py
        # ServerSpans): what the pipeline learns is said on it, not on a child span of
        # its own, so a read pays for three spans (request, database, audit), not eight
        span = trace.get_current_span()
        record = AuditRecord(
            time=self.runtime.clock(), client=client_address(scope), trace_id=current_trace_id()
        )
        started = time.perf_counter()
        context: RequestContext | None = None
        media = negotiate(request.headers.get("accept"))
        try:
            try:
                response, context = await self._handle(request, record, media)
            except Exception as exc:  # whatever broke, the caller gets a code; audited
                response = self._failure(record, exc)
            response = await self._finish(record, response, context, started)
        finally:
            if context is not None:
                await context.close()
        # the status is in the entry already; only the body's form follows the media type
        response = shape(response, media)
        span.set_attribute(F.ATTR_OUTCOME, record.outcome)
        if record.operation_type:
            span.set_attribute(F.ATTR_OPERATION_TYPE, record.operation_type)
        analysis = context.gate.analysis if context is not None else None
        finished(
            self.runtime.meters,
            record,
            operation_name=analysis.operation_name if analysis is not None else None,
            validated=analysis is not None,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        await response(scope, receive, send)

    @staticmethod
    def _failure(record: AuditRecord, exc: Exception) -> Response:
        if is_unavailable(exc):  # fail fast and say so; the pools reconnect by themselves
            log.warning("database unavailable (%s)", type(exc).__name__)
            record.error_codes = ["UNAVAILABLE"]
            return JSONResponse(
                error_body("UNAVAILABLE", UNAVAILABLE),
                status_code=503,
                headers={"retry-after": "5"},
            )
        log.error("request failed before it could be answered: %s", describe(exc))
        record.error_codes = ["INTERNAL"]
        return JSONResponse(
            error_body("INTERNAL", "Internal error. The request was not completed."),
            status_code=500,
        )

    async def _handle(
        self, request: Request, record: AuditRecord, media: Media
    ) -> tuple[Response, RequestContext | None]:
        if request.method != "POST":
            caller = None
            if request.method != "GET" and "authorization" in request.headers:
                # a valid token names the caller in the entry, and is charged as a call
                caller = await authenticate(
                    request,
                    self.reader,
                    fingerprint=peer_fingerprint(request.scope),
                    cache=self.credentials,
                )
            if caller is not None:
                self.name_caller(record, caller)
                if (refused := self.over_credential_limit(record, caller)) is not None:
                    return refused, None
            elif (refused := self.over_anonymous_limit(request)) is not None:
                return refused, None
            if request.method != "GET":  # routed here so that it is audited like the rest
                record.error_codes = ["BAD_USER_INPUT"]
                refusal = error_body("BAD_USER_INPUT", "Send GraphQL operations with POST.")
                return JSONResponse(refusal, status_code=405, headers={"allow": "POST"}), None
            record.operation_type = "ide"
            if self.ide and "text/html" in request.headers.get("accept", ""):
                return ide_page(), None
            record.error_codes = ["BAD_USER_INPUT"]
            refusal = error_body("BAD_USER_INPUT", "Send GraphQL operations with POST.")
            return JSONResponse(refusal, status_code=405, headers={"allow": "POST"}), None
        principal = await authenticate(
            request,
            self.reader,
            fingerprint=peer_fingerprint(request.scope),
            cache=self.credentials,
        )
        if principal is None:
            if (refused := self.over_anonymous_limit(request)) is not None:
                return refused, None
            record.error_codes = ["UNAUTHENTICATED"]
            return JSONResponse(
                error_body("UNAUTHENTICATED", "A valid bearer token is required."),
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="dibao"'},
            ), None
        self.name_caller(record, principal)
        if (refused := self.over_credential_limit(record, principal)) is not None:
            return refused, None
        try:
            gql = await self._read(request)
            record.operation_name = gql.operation_name
            query = await self._document(principal, gql, record)
        except BadRequest as exc:
            record.error_codes = ["BAD_USER_INPUT"]
            return JSONResponse(
                error_body("BAD_USER_INPUT", exc.message), status_code=exc.status
            ), None
        except DomainError as exc:
            record.error_codes = [exc.code]
            refusal = error_body(exc.code, exc.message)
            if exc.field is not None:
                refusal["errors"][0]["extensions"]["field"] = exc.field
            status = _status(refusal, media)
            if exc.code == NOT_FOUND_CODE:
                # a 4xx as the spec asks of a request that never ran, but not 400: on a
                # 400 Apollo Client stops sending persisted queries for the session
                status = 404 if media is Media.GRAPHQL_RESPONSE else 200
            return JSONResponse(refusal, status_code=status), None
        except TooComplex as exc:  # refused before validation: cheap, and still audited
            record.error_codes = ["QUERY_TOO_COMPLEX"]
            refusal = {"data": None, "errors": [format_error(exc.error)]}
            return ORJSONResponse(refusal, status_code=_status(refusal, media)), None
        context = RequestContext(
            principal=principal,
            sessions=self.runtime.sessions,
            cipher=self.runtime.cipher,
            now=record.time,
            settings=self.runtime.settings,
            gate=RequestGate(
                principal=principal,
                engine=self.runtime.policy_engine,
                limits=self.runtime.limits,
                pricing=self.pricing,
                introspection_allowed=self.runtime.settings.demo,
                tracer=self.tracer,
                span=trace.get_current_span(),
                charge=charge_for(principal, self.runtime.limiter, self.runtime.quotas),
                charge_lookups=lambda n: charge_lookups(principal, self.runtime.quotas, n),
            ),
        )
        if self.compiled is not None:
            plan = self.compiled.plan(query, gql.operation_name, context.gate.limits)
            if plan is not None:
                data = await self.compiled.execute(plan, context, gql.variables)
                if data is not None:
                    self._describe(record, context)
                    return ORJSONResponse({"data": data}), context
        result = await self.schema.execute(
            query,
            variable_values=gql.variables,
            context_value=context,
            operation_name=gql.operation_name,
        )
        errors = [format_error(e) for e in result.errors or []]
        record.error_codes = [e["extensions"]["code"] for e in errors]
        self._describe(record, context)
        # any error rolls the request back (see _finish): claims checked in it were probes
        record.lookups = settle_claims(
            record.lookups, result.errors or (), committed=not record.error_codes
        )
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        limited = next((e for e in errors if e["extensions"]["code"] == "RATE_LIMITED"), None)
        if limited is not None:  # the gate charged the operation's calls: refused whole
            retry = str(limited["extensions"].get(RETRY_AFTER, 1))
            return ORJSONResponse(body, status_code=429, headers={"retry-after": retry}), context
        return ORJSONResponse(body, status_code=_status(body, media)), context

    @staticmethod
    async def _read(request: Request) -> GraphQLRequest:
        """The request's operation, from a JSON body or a GraphQL multipart request.

        Multipart is a form type a browser may send cross-site without asking
        first; it reaches here only with a bearer token in the Authorization
        header, which no browser adds by itself and which makes a cross-site
        request preflighted (CORS): no cookie or ambient credential is honoured,
        so a forged form is UNAUTHENTICATED before its body is read."""
        content_type = request.headers.get("content-type", "")
        try:
            if is_multipart(content_type):
                operations = await read_multipart(
                    content_type,
                    request.headers.get("content-length"),
                    request.stream(),
                    MULTIPART_LIMITS,
                )
                return request_from(operations)
            raw = await request.body()
        except ClientDisconnect:  # gone before its body arrived: recorded, nothing to answer
            raise BadRequest("The client disconnected before the body arrived.") from None
        except MultipartRefused as exc:
            raise BadRequest(exc.message, exc.status) from None
        return parse_request(raw, content_type)

    @staticmethod
    def name_caller(record: AuditRecord, principal: Principal) -> None:
        record.principal, record.role = principal.name, principal.role
        record.scope, record.credential_id = principal.scope_label, principal.credential_id

    def over_credential_limit(self, record: AuditRecord, principal: Principal) -> Response | None:
        wait = self.runtime.limiter.take(principal.credential_id, principal.role)
        if wait is None:
            return None
        # refused before the body is read: cheap, and still audited
        record.error_codes = ["RATE_LIMITED"]
        return JSONResponse(
            error_body("RATE_LIMITED", "Too many requests for this credential; retry later."),
            status_code=429,
            headers={"retry-after": retry_after_header(wait)},
        )

    def over_anonymous_limit(self, request: Request) -> Response | None:
        """Over its address's limit, a request without a credential is refused and only
        counted; `flush_refusals` audits the counts."""
        key = address_key(request.client.host if request.client else None)
        wait = self.anonymous.take(key)
        if wait is None:
            return None
        self.anonymous.refuse(key)
        return Unrecorded(
            error_body(
                "RATE_LIMITED", "Too many requests without a valid credential; retry later."
            ),
            status_code=429,
            headers={"retry-after": retry_after_header(wait)},
        )

    async def flush_refusals(self) -> None:
        """One audit entry per address for the refusals counted since the last flush."""
        counts = self.anonymous.drain()
        for key, count in counts.items():
            record = AuditRecord(time=self.runtime.clock(), client=key, trace_id=None)
            record.error_codes, record.outcome = ["RATE_LIMITED"], F.RATE_LIMITED
            record.http_status, record.refused_count = 429, count
            try:
                await self._append_alone(record.as_dict())
            except Exception as exc:  # kept for the next flush: counted, not lost
                self.chain.forget_head()
                self.anonymous.restore(key, count)
                log.warning("refusal summary not written yet (%s)", type(exc).__name__)

    async def summarise_refusals(self) -> None:
        while True:
            await asyncio.sleep(SUMMARY_SECONDS)
            await self.flush_refusals()

    async def _document(
        self, principal: Principal, gql: GraphQLRequest, record: AuditRecord
    ) -> str:
        """The document to run, after trusted-document rules; records its hash."""
        if gql.document_id is not None:
            if not gql.document_id.startswith(PREFIX) and not is_document_id(gql.document_id):
                raise InvalidInput(
                    "documentId: expected sha256:<64 hex digits>", field="documentId"
                )
            async with self.runtime.sessions() as session:
                text = await load_document(session, gql.document_id.lower())
            if text is None:
                raise Forbidden("documentId: not an approved document")
            doc_id = gql.document_id
        elif gql.query is None:  # APQ's hash alone: registered by this credential, or a manifest's
            assert gql.persisted_hash is not None
            text = await self._persisted(principal, gql.persisted_hash)
            if text is None:
                # keyed, as a raw text's hash is: the hash of a text with a literal in it
                # could be matched against guesses
                record.document_hash = self._raw_hash(PREFIX + gql.persisted_hash)
                raise PersistedQueryNotFound
            doc_id = None
        else:
            assert gql.query is not None
            text = gql.query
            doc_id = None
            limit = self.runtime.limits.max_query_bytes
            # before any reading of the text: each pass over it costs per byte sent
            if len(text) > limit or len(text.encode()) > limit:
                record.document_hash = self._raw_hash(text)
                raise BadRequest(
                    f"The query text is over {limit // 1024} KB: send a smaller document, "
                    "or the documentId of an approved one.",
                    413,
                )
            if gql.persisted_hash is not None and sha256_hex(text) != gql.persisted_hash:
                record.document_hash = self._raw_hash(text)
                raise BadRequest("provided sha does not match query")
        # size limits before any other reading of the document (see document_limits)
        facts = read_text(text, self.runtime.limits)
        # not even tokens: keyed, so its content cannot be guessed back
        record.document_hash = facts.shape or self._raw_hash(text)
        if facts.refusal is not None:
            record.variables, _ = self.inputs.check(None, gql.variables)  # nothing kept
            raise TooComplex(facts.refusal)
        inputs = self.inputs.analyse(text, gql.operation_name)
        record.variables, problem = self.inputs.check(inputs, gql.variables)
        if principal.documents is not None:
            approved = doc_id in principal.documents
            if not approved:  # a text sent, or a manifest's text as its tool wrote it
                try:
                    # cached per text: hashing it showed in profiles
                    approved = document_id_of(text) in principal.documents
                except GraphQLError:
                    approved = False  # not a document at all: it cannot be an approved one
            if not approved:
                raise Forbidden("This credential may only send its approved documents.")
        if problem is not None:  # after the trust check: an unapproved text learns nothing
            # a fresh error: the cached one would gather every request's traceback
            raise InvalidInput(problem.message, field=problem.field)
        if gql.persisted_hash is not None and gql.query is not None:
            # only now: within the size limits, and approved for a documents-only credential
            self.persisted.remember(principal.credential_id, gql.persisted_hash, text)
        return text

    async def _persisted(self, principal: Principal, digest: str) -> str | None:
        """The text of an APQ hash: this credential's registration, else a manifest's
        document stored under that SHA-256 (then remembered, saving the next lookup)."""
        text = self.persisted.recall(principal.credential_id, digest)
        if text is None:
            async with self.runtime.sessions() as session:
                text = await load_document(session, PREFIX + digest)
            if text is not None:
                self.persisted.remember(principal.credential_id, digest, text)
        return text

    def _raw_hash(self, text: str) -> str:
        key = self.runtime.cipher.keys.audit_key
        return "raw:" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _describe(record: AuditRecord, context: RequestContext) -> None:
        analysis = context.gate.analysis
        if analysis is not None:
            record.operation_type = analysis.operation_type
            record.operation_name = analysis.operation_name or record.operation_name
            record.fields = {k: v.value for k, v in analysis.decisions.items()}
        named = analysis.archive_arguments if analysis is not None else set()
        record.archive_nos = sorted(context.touched | named)
        record.lookups = list(context.lookups)
        record.export = context.export

    async def _finish(
        self,
        record: AuditRecord,
        response: Response,
        context: RequestContext | None,
        started: float,
    ) -> Response:
        if isinstance(response, Unrecorded):
            record.outcome = F.RATE_LIMITED
            return response
        masked = any(v == Decision.MASKED.value for v in record.fields.values())
        record.outcome = outcome_for(record.error_codes, masked=masked)
        record.http_status = response.status_code
        record.duration_ms = (time.perf_counter() - started) * 1000
        entry = record.as_dict()
        tx = context.transaction if context is not None else None
        try:
            appending = time.perf_counter()
            with self.tracer.start_as_current_span(F.SPAN_AUDIT) as span:
                if tx is not None and not record.error_codes:
                    seq = await self.chain.append(tx, entry)
                    await tx.commit()
                    # a mutation's entry commits alone, in its own transaction
                    self.runtime.meters.audit_appended(time.perf_counter() - appending)
                    # a revocation made here holds here at once (elsewhere: FRESH_S)
                    self.credentials.clear()
                else:
                    if tx is not None:
                        await tx.rollback()  # any error: the request changes nothing
                    seq = await self._append_alone(entry)
                span.set_attribute(F.ATTR_AUDIT_SEQ, seq)
                self.chain.committed(seq)
        except Exception as exc:
            self.chain.forget_head()
            if tx is not None:
                with contextlib.suppress(Exception):  # the connection may be gone with it
                    await tx.rollback()
            if is_unavailable(exc):
                log.warning("audit write failed: database unavailable (%s)", type(exc).__name__)
                if record.error_codes == ["UNAVAILABLE"]:
                    return response  # already the answer: no data in it
                return JSONResponse(
                    error_body("UNAVAILABLE", UNAVAILABLE),
                    status_code=503,
                    headers={"retry-after": "5"},
                )
            log.error("audit write failed; answering without data: %s", describe(exc))
            return JSONResponse(error_body("INTERNAL", AUDIT_FAILED), status_code=503)
        return response

    async def settle(self, record: AuditRecord, response: Response, started: float) -> Response:
        """The entry of a request served beside GraphQL (a document download), written
        to the same chain before the response leaves; if it cannot be, no data does."""
        response = await self._finish(record, response, None, started)
        finished(
            self.runtime.meters,
            record,
            operation_name=None,
            validated=False,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response

    async def _append_alone(self, entry: dict[str, Any]) -> int:
        """An entry outside any request transaction, committed with the entries of
        concurrent requests (see audit/group.py) before this returns."""
        return await self.entries.append(entry)

    @contextlib.asynccontextmanager
    async def _audit_connection(self) -> AsyncIterator[Connection]:
        if self.reader.postgres:
            # one statement in autocommit on the hot-path pool: one round trip in all
            async with self.reader.connect() as reads:
                yield reads
            return
        async with self.runtime.sessions.begin() as session:
            # SQLite's write lock before the chain's lock, the order a mutation takes
            # them in (its transaction holds the write lock when it appends): the
            # other order deadlocks until the busy timeout
            await session.connection()
            yield session
