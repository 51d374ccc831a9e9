"""What a finished request leaves besides its audit entry: its figures in the
metrics and one line in the server log, both from the audit record, so the
three agree on outcome, role and trace id."""

from __future__ import annotations

import logging

from audit import fields as F
from audit.record import AuditRecord
from gateway.instruments import Meters, safe_operation_name

log = logging.getLogger("dibao.request")


def finished(
    meters: Meters,
    record: AuditRecord,
    *,
    operation_name: str | None,
    validated: bool,
    status: int,
    seconds: float,
) -> None:
    """`operation_name` is the validated document's (None with `validated` False when
    the request never got that far): a name sent beside a document that was not
    run is the caller's text, and stays out of both."""
    meters.request(
        operation=meters.names.label(operation_name, validated=validated),
        operation_type=record.operation_type,
        outcome=record.outcome,
        role=record.role,
        error_codes=record.error_codes,
        seconds=seconds,
    )
    level = logging.WARNING if record.outcome == F.FAILED else logging.INFO
    log.log(
        level,
        "request",
        extra={
            "trace_id": record.trace_id,
            "principal": record.principal,
            "role": record.role,
            "operation": safe_operation_name(operation_name) if validated else None,
            "operation_type": record.operation_type,
            "outcome": record.outcome,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "error_codes": list(record.error_codes) or None,
        },
    )
