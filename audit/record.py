"""What one audit entry says about one request, and how it is made safe to keep.

Variables are redacted before they are recorded: values under personal keys
(names, ID numbers, phones, bank accounts) and any string shaped like an ID
number, phone or bank account are replaced, so the audit log never becomes a
second copy of the archive.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import orjson

from audit import fields as F

REDACTED = "[redacted]"
# arguments and input fields whose values are not personal: kept in the audit
# entry; everything else a variable feeds is redacted (an allow-list, so a new
# field is redacted until someone decides otherwise)
PLAIN_SINKS = frozenset(
    {
        "archiveNo", "region", "villageCode", "countyCode", "period", "first", "after",
        "status", "category", "area", "stage", "before", "since", "until", "bucket", "by",
        "outcome", "principal", "role", "kind", "relation", "action", "subject", "object",
        "scope", "effect", "member", "memberPosition", "paymentId", "id", "documentId",
    }
)  # fmt: skip
SENSITIVE_KEYS = frozenset(
    {"name", "idnumber", "phone", "bankaccount", "address", "id", "token", "monthlyincome"}
)
# region codes and archive numbers look like long digit strings but are not personal
PLAIN_KEYS = frozenset({"villagecode", "region", "archiveno", "countycode", "period"})
_SENSITIVE_VALUE = re.compile(r"^\s*(\d{17}[\dXx]|\d{15}|1\d{10}|\d{16,19}|dibao_\S+)\s*$")
MAX_VARIABLE_TEXT = 200


MAX_DEPTH = 12


def redact(value: Any, key: str | None = None, depth: int = 0) -> Any:
    normalized = key.replace("_", "").lower() if key is not None else None
    if normalized in SENSITIVE_KEYS:
        return REDACTED
    if normalized in PLAIN_KEYS and isinstance(value, str):
        return value[:MAX_VARIABLE_TEXT]
    if depth >= MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {str(k)[:100]: redact(v, str(k), depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list):
        return [redact(v, None, depth + 1) for v in value[:200]]
    if isinstance(value, str):
        if _SENSITIVE_VALUE.match(value):
            return REDACTED
        return value[:MAX_VARIABLE_TEXT]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return REDACTED


def redact_variables(
    variables: dict[str, Any], sinks: Mapping[str, AbstractSet[str]] | None
) -> Any:
    """Keep a variable's value only when everything it feeds is a plain argument."""
    if sinks is None:  # the document could not be read: keep nothing
        return {str(k)[:100]: REDACTED for k in list(variables)[:200]}
    kept: dict[str, Any] = {}
    for name, value in list(variables.items())[:200]:
        fed = sinks.get(name, frozenset())
        if fed and fed <= PLAIN_SINKS and not isinstance(value, dict | list):
            kept[str(name)[:100]] = redact(value)
        elif isinstance(value, dict | list) and fed:
            kept[str(name)[:100]] = _keep_plain(value, 0)
        else:
            kept[str(name)[:100]] = REDACTED
    return kept


def _keep_plain(value: Any, depth: int, key: str | None = None) -> Any:
    """Inside an input object, keep only the fields named in PLAIN_SINKS."""
    if depth >= MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {
            str(k)[:100]: _keep_plain(v, depth + 1, str(k)) for k, v in list(value.items())[:200]
        }
    if isinstance(value, list):
        return [_keep_plain(v, depth + 1, key) for v in value[:200]]
    if key in PLAIN_SINKS:
        return redact(value)
    return REDACTED


@dataclass
class AuditRecord:
    time: dt.datetime
    client: str | None
    trace_id: str | None
    principal: str | None = None
    role: str | None = None
    scope: str | None = None
    credential_id: str | None = None
    operation_type: str | None = None
    operation_name: str | None = None
    document_hash: str | None = None
    variables: Any = None
    fields: dict[str, str] = field(default_factory=dict)
    archive_nos: list[str] = field(default_factory=list)
    outcome: str = F.FAILED
    error_codes: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    http_status: int = 200
    lookups: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            F.TIME: self.time.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            F.PRINCIPAL: self.principal,
            F.ROLE: self.role,
            F.SCOPE: self.scope,
            F.CREDENTIAL_ID: self.credential_id,
            F.CLIENT: self.client,
            F.OPERATION_TYPE: self.operation_type,
            F.OPERATION_NAME: self.operation_name,
            F.DOCUMENT_HASH: self.document_hash,
            F.VARIABLES: self.variables,
            F.FIELDS: dict(sorted(self.fields.items())),
            F.ARCHIVE_NOS: sorted(set(self.archive_nos)),
            F.OUTCOME: self.outcome,
            F.ERROR_CODES: sorted(set(self.error_codes)),
            F.DURATION_MS: round(self.duration_ms, 3),
            F.TRACE_ID: self.trace_id,
            F.HTTP_STATUS: self.http_status,
            F.LOOKUPS: list(self.lookups),
        }


def canonical(entry: dict[str, Any]) -> bytes:
    """The exact bytes the chain hash covers: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


OUTCOME_BY_CODE = (
    ("UNAUTHENTICATED", F.UNAUTHENTICATED),
    ("RATE_LIMITED", F.RATE_LIMITED),
    ("INTERNAL", F.FAILED),
    ("UNAVAILABLE", F.FAILED),
    ("FORBIDDEN", F.DENIED),
    ("QUERY_TOO_COMPLEX", F.TOO_COMPLEX),
    ("BAD_USER_INPUT", F.INVALID),
    ("CONFLICT", F.REFUSED),
    ("NOT_FOUND", F.REFUSED),
)


def outcome_for(codes: list[str], *, masked: bool) -> str:
    for code, outcome in OUTCOME_BY_CODE:
        if code in codes:
            return outcome
    return F.MASKED if masked else F.ALLOWED
