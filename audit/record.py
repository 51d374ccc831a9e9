"""What one audit entry says about one request, and how it is made safe to keep.

Variables are redacted before they are recorded: values under personal keys
(names, ID numbers, phones, bank accounts) and any string shaped like an ID
number, phone or bank account are replaced, so the audit log never becomes a
second copy of the archive.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from audit import fields as F

REDACTED = "[redacted]"
SENSITIVE_KEYS = frozenset(
    {"name", "idnumber", "phone", "bankaccount", "address", "id", "token", "monthlyincome"}
)
# region codes and archive numbers look like long digit strings but are not personal
PLAIN_KEYS = frozenset({"villagecode", "region", "archiveno", "countycode", "period"})
_SENSITIVE_VALUE = re.compile(r"^\s*(\d{17}[\dXx]|\d{15}|1\d{10}|\d{12,19}|dibao_\S+)\s*$")
MAX_VARIABLE_TEXT = 200


def redact(value: Any, key: str | None = None) -> Any:
    normalized = key.replace("_", "").lower() if key is not None else None
    if normalized in SENSITIVE_KEYS:
        return REDACTED
    if normalized in PLAIN_KEYS and isinstance(value, str):
        return value[:MAX_VARIABLE_TEXT]
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        if _SENSITIVE_VALUE.match(value):
            return REDACTED
        return value[:MAX_VARIABLE_TEXT]
    if isinstance(value, bool | int | float) or value is None:
        return value
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
        }


def canonical(entry: dict[str, Any]) -> bytes:
    """The exact bytes the chain hash covers: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


OUTCOME_BY_CODE = (
    ("UNAUTHENTICATED", F.UNAUTHENTICATED),
    ("INTERNAL", F.FAILED),
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
