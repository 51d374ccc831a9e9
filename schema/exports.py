"""Exports (issue 20): the ticket of a file taken out, the register a security
officer reads, and what a bank's result file did."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from domain.exports import MAX_REPORTED
from resolvers import bank_returns
from schema.enums import ExportFormat, ExportKind
from schema.pricing import priced
from store import models


@strawberry.type(description="A file taken out: fetch it with GET /exports/{id} (yours only).")
class ExportTicket:
    id: strawberry.ID
    kind: ExportKind
    format: ExportFormat
    row_count: int = strawberry.field(description="Data rows in the file (totals excluded).")
    total_amount: Decimal | None = strawberry.field(description="Sum of the file's amounts.")
    sha256: str = strawberry.field(description="SHA-256 of the file's bytes, as audited.")
    size: int
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: models.Export) -> ExportTicket:
        return cls(
            id=strawberry.ID(row.id),
            kind=ExportKind(row.kind),
            format=ExportFormat(row.format),
            row_count=row.row_count,
            total_amount=row.total_amount,
            sha256=row.sha256,
            size=row.size,
            created_at=row.created_at,
        )


@strawberry.type(description="Who took which file, when, of what (security officers).")
class ExportRecord:
    id: strawberry.ID
    kind: ExportKind
    format: ExportFormat
    principal: str
    role: str
    scope: str
    batch_id: str | None
    region: str | None
    row_count: int
    sha256: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: models.Export) -> ExportRecord:
        return cls(
            id=strawberry.ID(row.id),
            kind=ExportKind(row.kind),
            format=ExportFormat(row.format),
            principal=row.principal,
            role=row.role,
            scope=row.scope or "*",
            batch_id=row.params.get("batchId"),
            region=row.params.get("region"),
            row_count=row.row_count,
            sha256=row.sha256,
            created_at=row.created_at,
        )


@strawberry.type(description="A line of the bank's file that was refused, and why.")
class BankReturnProblem:
    line: int
    message: str


@strawberry.type(
    description="What the bank's result file did: all lines recorded, or none (applied "
    "false) with each refused line named."
)
class BankReturnResult:
    applied: bool
    lines: int
    disbursed: int
    failed: int
    problems: list[BankReturnProblem] = strawberry.field(metadata=priced(bound=MAX_REPORTED))
    more_problems: int = strawberry.field(description="Refused lines beyond those named.")

    @classmethod
    def from_result(cls, result: bank_returns.BankReturn) -> BankReturnResult:
        return cls(
            applied=result.applied,
            lines=result.lines,
            disbursed=result.disbursed,
            failed=result.failed,
            problems=[BankReturnProblem(line=p.line, message=p.message) for p in result.problems],
            more_problems=result.more_problems,
        )
