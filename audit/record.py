"""What one audit entry says about one request, and how it is made safe to keep.

Variables are redacted before they are recorded. What may be kept is decided
by the schema (`schema/inputs.py`, applied by `gateway/inputs.py`): a value is
kept only where the argument or input field it feeds is declared plain; any ID
number inside a kept string is replaced as well, and the whole is capped. The
audit log must never become a second copy of the archive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import orjson

from audit import fields as F

REDACTED = "[redacted]"
# an ID number (GB 11643) anywhere inside a kept string, unless it is part of a
# longer run of digits
ID_PATTERN = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
# digits written apart (`220183 19820530.5726`, `220183-1982...`): a run of ASCII
# digits joined by separators, after NFKC has made full-width digits and separators
# ASCII. A run holding as many digits as an ID number (15 in the first generation,
# 18 now) is cut out whole, whatever else it holds.
_DIGIT_RUN = re.compile(r"[0-9](?:[\s.\-_/]*[0-9])*(?:[\s.\-_/]*[Xx](?![A-Za-z]))?")
MIN_ID_DIGITS = 15
_CUT_RUN = re.compile(_DIGIT_RUN.pattern + r"[\s.\-_/]*\Z")  # a run at the end of cut text
_NAME_RE = re.compile(r"\A[_A-Za-z][_0-9A-Za-z]*\Z")  # GraphQL's Name
MAX_TEXT = 200  # characters of one kept string
MAX_NAME = 100  # characters of a kept variable or operation name
MAX_VARIABLES_JSON = 4096  # bytes of kept variables; the rest is replaced by its keyed hash
OMITTED = "_omitted"
UNDECLARED = "#undeclared"  # how many variables the operation does not declare (not a Name)
NOT_A_NAME = "[not a name]"


def _cut_id_runs(match: re.Match[str]) -> str:
    run = match.group(0)
    return REDACTED if sum(c.isdigit() for c in run) >= MIN_ID_DIGITS else run


def scrub(text: str, limit: int = MAX_TEXT) -> str:
    """A string the schema declared plain, safe to keep: bounded, no ID number in it,
    however its digits are written (full-width, spaced, dotted, hyphenated)."""
    normal = unicodedata.normalize("NFKC", text[: limit + 64])
    if len(text) > limit + 64:
        # The cut may have cut a run of digits short, and NFKC can shrink what precedes
        # it (a letter and its combining accent become one character), pulling up to 63
        # of its digits into the kept characters: a region code and a birth date. A run
        # that reaches the cut is therefore judged as an ID number whatever its length.
        normal = _CUT_RUN.sub(REDACTED, normal)
    return ID_PATTERN.sub(REDACTED, _DIGIT_RUN.sub(_cut_id_runs, normal))[:limit]


def scrub_name(name: str) -> str:
    """A variable or operation name: kept only when it is a GraphQL Name (no ID in it)."""
    return scrub(name, MAX_NAME) if _NAME_RE.match(name) else NOT_A_NAME


def cap_variables(kept: dict[str, Any], *, key: bytes) -> dict[str, Any]:
    """Variables (already redacted) within MAX_VARIABLES_JSON bytes.

    Variables are kept in order while they fit; the ones that do not are
    replaced by their count and an HMAC under the audit key, so an auditor can
    confirm a claimed value without the log holding it, and nobody without the
    key can guess it back.
    """
    whole = canonical(kept)
    if len(whole) <= MAX_VARIABLES_JSON:
        return kept
    head: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    size = 2
    for name, value in kept.items():
        piece = len(canonical({name: value}))
        if not rest and size + piece <= MAX_VARIABLES_JSON - 200:  # room for the summary
            head[name] = value
            size += piece
        else:
            rest[name] = value
    digest = hmac.new(key, canonical(rest), hashlib.sha256).hexdigest()
    head[OMITTED] = {"count": len(rest), "hmac": digest}
    return head


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
    refused_count: int | None = None
    lookups: list[dict[str, Any]] = field(default_factory=list)
    export: dict[str, Any] | None = None  # a file taken out: kind, params, rows, SHA-256

    def as_dict(self) -> dict[str, Any]:
        return {
            F.TIME: self.time.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            F.PRINCIPAL: self.principal,
            F.ROLE: self.role,
            F.SCOPE: self.scope,
            F.CREDENTIAL_ID: self.credential_id,
            F.CLIENT: self.client,
            F.OPERATION_TYPE: self.operation_type,
            F.OPERATION_NAME: scrub_name(self.operation_name) if self.operation_name else None,
            F.DOCUMENT_HASH: self.document_hash,
            F.VARIABLES: self.variables,
            F.FIELDS: dict(sorted(self.fields.items())),
            F.ARCHIVE_NOS: sorted(set(self.archive_nos)),
            F.OUTCOME: self.outcome,
            F.ERROR_CODES: sorted(set(self.error_codes)),
            F.DURATION_MS: round(self.duration_ms, 3),
            F.TRACE_ID: self.trace_id,
            F.HTTP_STATUS: self.http_status,
            **({F.REFUSED_COUNT: self.refused_count} if self.refused_count is not None else {}),
            F.LOOKUPS: list(self.lookups),
            # only on entries of exports, so that every other entry hashes as before
            **({F.EXPORT: self.export} if self.export is not None else {}),
        }


def canonical(entry: dict[str, Any]) -> bytes:
    """The exact bytes the chain hash covers: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


OUTCOME_BY_CODE = (
    ("UNAUTHENTICATED", F.UNAUTHENTICATED),
    ("RATE_LIMITED", F.RATE_LIMITED),
    ("INTERNAL", F.FAILED),
    ("FILE_DAMAGED", F.FAILED),
    ("UNAVAILABLE", F.FAILED),
    ("FORBIDDEN", F.DENIED),
    ("QUERY_TOO_COMPLEX", F.TOO_COMPLEX),
    ("BAD_USER_INPUT", F.INVALID),
    ("CONFLICT", F.REFUSED),
    ("NOT_FOUND", F.REFUSED),
    ("EXPORT_EXPIRED", F.REFUSED),
    # an APQ hash not known yet: the client's usual first try, not a refusal to count
    ("PERSISTED_QUERY_NOT_FOUND", F.REFUSED),
)


def outcome_for(codes: list[str], *, masked: bool) -> str:
    for code, outcome in OUTCOME_BY_CODE:
        if code in codes:
            return outcome
    return F.MASKED if masked else F.ALLOWED
