"""`dibao export KIND …`: the same exports as `requestExport`, for an operator at the server.

The operator names who takes the file (principal, role, region); the policy loaded
from the database decides, as it does for a request, whether that role runs the
kind and how each personal column reads. The file and its audit entry (kind,
parameters, row count, SHA-256) commit together; a refusal is audited as well.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from audit import fields as F
from audit.chain import AuditChain
from audit.record import REDACTED, AuditRecord, outcome_for
from domain.documents import MAX_BYTES
from domain.errors import DomainError, FileDamaged, Forbidden
from domain.exports import ExportFormat, ExportKind, is_row_id
from domain.principal import Principal
from domain.region import validate_scope
from gateway import policy_sync
from gateway.config import load_settings
from gateway.context import PolicyAccess
from gateway.export_retention import purge_expired
from gateway.runtime import Runtime
from policies.engine import Decision
from resolvers.bank_returns import BankReturn, apply_bank_return
from resolvers.context import CHINA_TIME
from resolvers.exports import ExportParams, produce, summary
from store.exports import ExportDamaged, fetch_export, open_pieces
from store.models import Export
from store.types import utcnow

export_app = typer.Typer(
    help="Files a county hands in (payment rolls, public lists), and the bank's result file.",
    no_args_is_help=True,
)
err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)
OPERATION_CLI_EXPORT = "cli_export"
OPERATION_CLI_BANK_RETURN = "cli_bank_return"
BANK_RETURN = "Mutation.importBankReturn"  # the policy object the API's mutation is


def _format(out_file: Path) -> ExportFormat:
    suffix = out_file.suffix.lower()
    if suffix not in {".xlsx", ".csv"}:
        err.print("[red]error[/red]: --out names an .xlsx or .csv file")
        raise typer.Exit(2)
    return ExportFormat.XLSX if suffix == ".xlsx" else ExportFormat.CSV


T = TypeVar("T")


async def _audited(
    runtime: Runtime,
    chain: AuditChain,
    record: AuditRecord,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """A command's work and its audit entry in one transaction; a refusal, or a failure
    midway (INTERNAL, as the API records one), rolls the work back and is audited in a
    transaction of its own, then raised."""
    try:
        async with runtime.sessions.begin() as session:
            result = await work(session)
            seq = await chain.append(session, record.as_dict())
    except Exception as exc:
        chain.forget_head()
        record.error_codes = [exc.code if isinstance(exc, DomainError) else "INTERNAL"]
        record.outcome = outcome_for(record.error_codes, masked=False)
        record.export = None  # no file was kept
        async with runtime.sessions.begin() as session:
            seq = await chain.append(session, record.as_dict())
        chain.committed(seq)
        raise
    chain.committed(seq)
    return result


async def _export(
    runtime: Runtime,
    *,
    kind: ExportKind,
    params: ExportParams,
    principal: Principal,
) -> tuple[dict[str, object], Export]:
    engine = await policy_sync.load_engine(runtime.sessions)
    chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
    now = utcnow()
    record = AuditRecord(
        time=now,
        client="cli",
        trace_id=None,
        principal=principal.name,
        role=principal.role,
        scope=principal.scope_label,
        operation_type=OPERATION_CLI_EXPORT,
        operation_name=f"export {kind.value}",
        variables={"kind": kind.value},
    )

    async def work(session: AsyncSession) -> Export:
        row = await produce(
            session,
            runtime.cipher,
            kind=kind,
            params=params,
            principal=principal,
            access=PolicyAccess(engine, principal),
            now=now,
            today=now.astimezone(CHINA_TIME).date(),
            settings=runtime.settings,
        )
        record.export = summary(row)
        record.outcome = F.ALLOWED
        return row

    row = await _audited(runtime, chain, record, work)
    return summary(row), row  # the summary the entry recorded


async def _write_out(runtime: Runtime, row: Export, out_file: Path) -> None:
    """The committed file, checked whole and then written a piece at a time."""
    try:
        spool = await fetch_export(runtime.sessions, runtime.cipher, row)
    except ExportDamaged as exc:
        raise FileDamaged(f"the stored file failed its integrity check ({exc})") from None
    with out_file.open("wb") as target:
        for piece in open_pieces(spool, runtime.cipher, row):
            target.write(piece)


def _run(
    kind: ExportKind, params: ExportParams, out_file: Path, principal: Principal
) -> dict[str, object]:
    async def main() -> dict[str, object]:
        runtime = Runtime.from_settings(load_settings())
        try:
            done, row = await _export(runtime, kind=kind, params=params, principal=principal)
            await _write_out(runtime, row, out_file)
            return done
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(2) from None


def _principal(actor: str | None, role: str, region: str) -> Principal:
    try:
        scope = "" if region == "*" else validate_scope(region)
    except DomainError as exc:
        err.print(f"[red]error[/red]: {exc.message}")
        raise typer.Exit(2) from None
    name = actor or f"cli:{getpass.getuser()}"
    return Principal(credential_id="cli", name=name, role=role, scope=scope)


def _take(kind: ExportKind, out_file: Path, principal: Principal, **params: Any) -> None:
    """Write one export, in the format the file's name asks for, and say what was taken."""
    done = _run(kind, ExportParams(**params, format=_format(out_file)), out_file, principal)
    _report(done, out_file)


def _report(done: dict[str, object], out_file: Path) -> None:
    out.print(f"行数: {done['rows']}")
    if done.get("total") is not None:
        out.print(f"合计: {done['total']}")
    out.print(f"SHA-256: {done['sha256']}")
    out.print(f"文件: {out_file}")


Actor = Annotated[
    str | None, typer.Option(help="Who takes the file, as the register and the audit name them.")
]
Region = Annotated[str, typer.Option(help="The taker's region scope (* for national).")]
Out = Annotated[Path, typer.Option("--out", help="The file to write: .xlsx or .csv.")]


@export_app.command("payment-roll")
def payment_roll(
    batch: Annotated[str, typer.Option(help="The payment batch's id.")],
    out_file: Out,
    region: Region,
    role: Annotated[str, typer.Option(help="The taker's role.")] = "finance_officer",
    actor: Actor = None,
) -> None:
    """A batch's payment roll (发放名册), with its totals, for the bank."""
    _take(ExportKind.PAYMENT_ROLL, out_file, _principal(actor, role, region), batch_id=batch)


@export_app.command("public-list")
def public_list(
    of: Annotated[str, typer.Option("--of", help="The township or county code.")],
    out_file: Out,
    region: Region,
    role: Annotated[str, typer.Option(help="The taker's role.")] = "county_reviewer",
    actor: Actor = None,
) -> None:
    """The public list (公示) of a township or county: masked names, the same for all."""
    _take(ExportKind.PUBLIC_LIST, out_file, _principal(actor, role, region), region=of)


@export_app.command("statistical-return")
def statistical_return(
    of: Annotated[str, typer.Option("--of", help="The city (4 digits) or county (6 digits).")],
    period: Annotated[str, typer.Option(help="The month, YYYY-MM.")],
    out_file: Out,
    region: Region,
    role: Annotated[str, typer.Option(help="The taker's role.")] = "county_reviewer",
    actor: Actor = None,
) -> None:
    """The monthly statistical return (统计报表) of a county or city, as `statistics`."""
    _take(
        ExportKind.STATISTICAL_RETURN,
        out_file,
        _principal(actor, role, region),
        region=of,
        period=period,
    )


@export_app.command("staff-assessment")
def staff_assessment(
    of: Annotated[str, typer.Option("--of", help="Province (2), city (4) or county (6).")],
    period: Annotated[str, typer.Option(help="The first month, YYYY-MM.")],
    out_file: Out,
    region: Region,
    period_end: Annotated[
        str | None, typer.Option(help="The last month, YYYY-MM (default: --period).")
    ] = None,
    role: Annotated[str, typer.Option(help="The taker's role.")] = "county_reviewer",
    actor: Actor = None,
) -> None:
    """Staff assessment (考核) per principal and step over months, from the review chain."""
    _take(
        ExportKind.STAFF_ASSESSMENT,
        out_file,
        _principal(actor, role, region),
        region=of,
        period=period,
        period_end=period_end,
    )


async def _bank_return(
    runtime: Runtime, *, batch_id: str, data: bytes, name: str, principal: Principal
) -> BankReturn:
    """`importBankReturn` for an operator: the same policy object, the same code in one
    transaction, and one audit entry on the same chain naming the batch and the file's
    SHA-256 (never a line of it); a refusal is audited as well."""
    engine = await policy_sync.load_engine(runtime.sessions)
    chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
    now = utcnow()
    decision = engine.decide(principal, BANK_RETURN, write=True)
    record = AuditRecord(
        time=now,
        client="cli",
        trace_id=None,
        principal=principal.name,
        role=principal.role,
        scope=principal.scope_label,
        operation_type=OPERATION_CLI_BANK_RETURN,
        operation_name="importBankReturn",
        variables={
            "batchId": batch_id if is_row_id(batch_id) else REDACTED,
            "file": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
        },
        fields={BANK_RETURN: decision.value},
    )

    async def work(session: AsyncSession) -> BankReturn:
        if decision is not Decision.WRITE:
            raise Forbidden("Your role may not record a bank's result file.", field="role")
        done = await apply_bank_return(
            session,
            batch_id=batch_id,
            data=data,
            name=name,
            scope=principal.scope,
            now=now,
        )
        record.outcome = F.ALLOWED
        if not done.applied:
            record.refused_count = len(done.problems) + done.more_problems
        return done

    return await _audited(runtime, chain, record, work)


@export_app.command("bank-return")
def bank_return(
    batch: Annotated[str, typer.Option(help="The payment batch's id.")],
    file: Annotated[
        Path, typer.Option("--file", help="The bank's result file (回盘): .csv or .xlsx.")
    ],
    region: Region,
    role: Annotated[str, typer.Option(help="The role it is recorded under.")] = "finance_officer",
    actor: Actor = None,
) -> None:
    """Record a bank's result file (回盘) as importBankReturn does: every line or none."""
    principal = _principal(actor, role, region)
    suffix = file.suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        err.print("[red]error[/red]: --file names a .csv or .xlsx file")
        raise typer.Exit(2)
    try:
        size = file.stat().st_size
    except OSError:
        err.print("[red]error[/red]: --file cannot be read")
        raise typer.Exit(2) from None
    if size > MAX_BYTES:  # the API's bound on an upload, checked before reading
        err.print(f"[red]error[/red]: --file is over {MAX_BYTES // 2**20} MB")
        raise typer.Exit(2)
    data = file.read_bytes()

    async def main() -> BankReturn:
        runtime = Runtime.from_settings(load_settings())
        try:
            return await _bank_return(
                runtime, batch_id=batch, data=data, name=f"return{suffix}", principal=principal
            )
        finally:
            await runtime.close()

    try:
        done = asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]error[/red] ({exc.code}): {exc.message}")
        raise typer.Exit(2) from None
    if not done.applied:
        err.print(f"未记录：{len(done.problems) + done.more_problems} 行有问题，整份文件未记录")
        for problem in done.problems:
            err.print(f"第 {problem.line} 行: {problem.message}")
        if done.more_problems:
            err.print(f"……另有 {done.more_problems} 行")
        raise typer.Exit(1)
    out.print(f"已记录: {done.lines} 行（成功 {done.disbursed}，失败 {done.failed}）")


@export_app.command("purge")
def purge() -> None:
    """Delete the files of exports past DIBAO_EXPORT_KEEP_DAYS now (the server does it
    hourly); their register rows stay. One audit entry per batch of files deleted."""

    async def main() -> tuple[int, int]:
        runtime = Runtime.from_settings(load_settings())
        try:
            chain = AuditChain(runtime.cipher, anchors=runtime.anchors)
            keep = runtime.settings.export_keep_days
            gone = await purge_expired(
                runtime.sessions,
                chain,
                keep_days=keep,
                now=utcnow(),
                by=f"cli:{getpass.getuser()}",
                client="cli",
            )
            return gone, keep
        finally:
            await runtime.close()

    gone, keep = asyncio.run(main())
    out.print(f"deleted {gone} export files older than {keep} days")
