"""The bank's result file (回盘) of a payment roll, recorded as disbursements: every line
or none, each refused line named with its reason (issue 20)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput
from domain.exports import (
    BANK_RETURN_HEADER,
    MAX_REPORTED,
    MAX_RETURN_LINES,
    BankLine,
    LineProblem,
    is_row_id,
    read_bank_line,
)
from resolvers.context import Info
from resolvers.legacy_files import UnreadableFile, kind_of, read_rows
from store import exports as store


@dataclass(frozen=True, slots=True)
class BankReturn:
    applied: bool
    lines: int
    disbursed: int
    failed: int
    problems: list[LineProblem]
    more_problems: int  # beyond the MAX_REPORTED named ones


def read_bank_file(data: bytes, name: str) -> tuple[list[BankLine], list[LineProblem]]:
    try:
        rows = read_rows(io.BytesIO(data), kind_of(name))
        header = next(rows, None)
        if header is None or [c.strip() for c in header[:4]] != list(BANK_RETURN_HEADER):
            raise InvalidInput(
                "file: the first line must be " + "，".join(BANK_RETURN_HEADER), field="file"
            )
        lines: list[BankLine] = []
        problems: list[LineProblem] = []
        for number, cells in enumerate(rows, start=2):
            # blank lines count too: skipping them unread is still reading them
            if number > MAX_RETURN_LINES + 1:
                raise InvalidInput(f"file: at most {MAX_RETURN_LINES} lines", field="file")
            if not any(cells):
                continue
            read = read_bank_line(number, cells)
            (lines if isinstance(read, BankLine) else problems).append(read)  # type: ignore[arg-type]
    except UnreadableFile as exc:
        raise InvalidInput(f"file: {exc}", field="file") from None
    return lines, problems


async def apply_bank_return(
    session: Any, *, batch_id: str, data: bytes, name: str, scope: str, now: dt.datetime
) -> BankReturn:
    """All lines or none: any line that is malformed, names no payment of the batch,
    names one twice or one already recorded refuses the file, and each is reported."""
    if not is_row_id(batch_id):
        raise InvalidInput("batchId: the payment batch's id", field="batchId")
    await store.find_batch(session, batch_id=batch_id, scope=scope)
    # parsing is CPU work on up to 20 MB: in a thread, so other callers are still served
    lines, malformed = await asyncio.to_thread(read_bank_file, data, name)
    if not lines and not malformed:
        raise InvalidInput("file: no result lines", field="file")
    statuses = await store.pending_payments(session, batch_id=batch_id, scope=scope)
    problems = sorted([*malformed, *store.match_lines(lines, statuses)], key=lambda p: p.line)
    if problems:
        return BankReturn(
            applied=False,
            lines=len(lines) + len(malformed),
            disbursed=0,
            failed=0,
            problems=problems[:MAX_REPORTED],
            more_problems=max(0, len(problems) - MAX_REPORTED),
        )
    await store.record_bank_lines(session, lines, scope=scope, now=now)
    disbursed = sum(1 for x in lines if x.outcome.value == "DISBURSED")
    return BankReturn(
        applied=True,
        lines=len(lines),
        disbursed=disbursed,
        failed=len(lines) - disbursed,
        problems=[],
        more_problems=0,
    )


def _file_name(data: bytes) -> str:
    """.xlsx when the upload is a zip (a workbook), else CSV."""
    return "return.xlsx" if data[:2] == b"PK" else "return.csv"


async def import_bank_return(info: Info, batch_id: str, file: Any) -> BankReturn:
    data = getattr(file, "data", None)
    if not isinstance(data, bytes):
        raise InvalidInput(
            "file: send the bank's file as a multipart upload (GraphQL multipart request)",
            field="file",
        )
    if not data:
        raise InvalidInput("file: the file is empty", field="file")
    ctx = info.context
    async with ctx.writing() as session:
        return await apply_bank_return(
            session,
            batch_id=batch_id,
            data=data,
            name=_file_name(data),
            scope=ctx.principal.scope,
            now=ctx.now,
        )
