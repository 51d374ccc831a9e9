"""Exports (issue 20): one mechanism for every kind of file, for the API and the CLI.

`produce` asks the policy whether the caller may run the kind (`Export.<kind>`,
write) and, for a payment roll, how each personal column reads (`PaymentRoll.*`),
streams the rows through the caller's region scope into a file, and keeps the file
sealed in the register with its row count and SHA-256. The caller hands those to
the audit entry: `requestExport` through the request's context, the CLI itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from domain.assessment import assess
from domain.calendar import beijing_midnight
from domain.enums import PaymentKind
from domain.errors import Forbidden, InvalidInput, QuotaExceeded
from domain.exports import (
    AREA_LABELS,
    CATEGORY_LABELS,
    MAX_ASSESSMENT_MONTHS,
    MOVEMENTS,
    POLICY_OBJECTS,
    ROLL_COLUMNS,
    ExportFormat,
    ExportKind,
    cents,
    is_row_id,
    public_name,
)
from domain.principal import Principal
from domain.region import validate_scope
from resolvers.context import Access, Info, Settings
from resolvers.export_files import SheetWriter, sha256_file
from store import exports as store
from store import timeliness
from store.crypto import Cipher
from store.models import Export, new_id
from store.periods import first_day, last_day, month_start, parse_period

T = TypeVar("T")
KIND_LABELS = {PaymentKind.REGULAR.value: "正常", PaymentKind.BACK_PAY.value: "补发"}
MAX_LISTED = 200  # exports in one page of the console's list


@dataclass
class ExportParams:
    """What an export is of; give the fields its kind needs.

    A plain shape here; the schema makes it the GraphQL input (schema/input_types.py).
    """

    batch_id: str | None = None  # PAYMENT_ROLL: the batch (served as an ID)
    region: str | None = None  # PUBLIC_LIST: a township or county; STATISTICAL_RETURN:
    # a county or city
    period: str | None = None  # STATISTICAL_RETURN: the month; STAFF_ASSESSMENT: the first
    period_end: str | None = None  # STAFF_ASSESSMENT: the last month (default: `period`)
    format: ExportFormat = ExportFormat.XLSX


def _params(kind: ExportKind, params: ExportParams) -> dict[str, Any]:
    """The parameters as the register and the audit entry keep them: ids and codes only."""
    if kind is ExportKind.PAYMENT_ROLL:
        if params.batch_id is None or not is_row_id(params.batch_id):
            raise InvalidInput("batchId: the payment batch's id", field="batchId")
        return {"batchId": params.batch_id, "format": params.format.value}
    if kind is ExportKind.STAFF_ASSESSMENT:
        if params.region is None or len(params.region) not in (2, 4, 6):
            raise InvalidInput(
                "region: a province (2 digits), city (4) or county (6)", field="region"
            )
        validate_scope(params.region)
        if params.period is None:
            raise InvalidInput("period: the first month, YYYY-MM", field="period")
        first = parse_period(params.period)
        end = params.period_end or params.period
        last = parse_period(end, field="periodEnd")
        months = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
        if not 1 <= months <= MAX_ASSESSMENT_MONTHS:
            raise InvalidInput(
                f"periodEnd: from period, at most {MAX_ASSESSMENT_MONTHS} months", field="periodEnd"
            )
        return {
            "region": params.region,
            "period": params.period,
            "periodEnd": end,
            "format": params.format.value,
        }
    if kind is ExportKind.STATISTICAL_RETURN:
        if params.region is None or len(params.region) not in (4, 6):
            raise InvalidInput("region: a city (4 digits) or county (6 digits)", field="region")
        validate_scope(params.region)
        if params.period is None:
            raise InvalidInput("period: a month as YYYY-MM", field="period")
        parse_period(params.period)
        return {"region": params.region, "period": params.period, "format": params.format.value}
    if params.region is None or len(params.region) not in (6, 9):
        raise InvalidInput("region: a county (6 digits) or township (9 digits)", field="region")
    validate_scope(params.region)
    return {"region": params.region, "format": params.format.value}


async def _payment_roll(
    session: Any,
    cipher: Cipher,
    writer_for: Callable[[str, list[str]], SheetWriter],
    *,
    batch_id: str,
    scope: str,
    columns: list[Callable[[str], str] | None],
) -> tuple[int, Decimal]:
    batch = await store.find_batch(session, batch_id=batch_id, scope=scope)
    # each personal column as the policy reads it for the caller: clear, masked, or out
    name, number, account = columns
    personal = [("户主姓名", name), ("身份证号码", number), ("银行账号", account)]
    shown = [(label, show) for label, show in personal if show is not None]
    header = [
        "序号", "付款编号", "档案编号", *(label for label, _ in shown),
        "开户银行", "发放月份", "类别", "金额（元）",
    ]  # fmt: skip
    writer = writer_for(f"发放名册 {batch.county_code} {batch.period}", header)

    def write(lines: list[store.RollLine]) -> None:
        for line in lines:
            values = {"户主姓名": line.name, "身份证号码": line.id_number}
            values["银行账号"] = line.bank_account
            writer.row(
                [
                    str(writer.rows + 1),
                    line.payment_id,
                    line.archive_no,
                    *(show(values[label]) for label, show in shown),
                    line.bank_name,
                    line.period,
                    KIND_LABELS.get(line.kind, line.kind),
                    line.amount,
                ]
            )

    try:
        chunks = store.roll_lines(session, cipher, batch_id=batch.id, scope=scope)
        total = await _pipe(chunks, write, lambda line: line.amount)
        blanks = [""] * (len(header) - 2)
        writer.footer(["合计", f"{writer.rows} 笔", *blanks[:-1], total])
    finally:
        writer.close()
    return writer.rows, total


async def _pipe(
    chunks: AsyncIterator[list[T]],
    write: Callable[[list[T]], None],
    amount: Callable[[T], Decimal],
) -> Decimal:
    """Each chunk written in a thread while the next is fetched and decrypted: the
    writer's CPU and the database's round trips overlap, and at most two chunks
    are held at once. Returns the sum of the amounts, as Decimal."""
    total = Decimal("0.00")
    pending: asyncio.Future[None] | None = None
    try:
        async for lines in chunks:
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(asyncio.to_thread(write, lines))
            total += sum((amount(line) for line in lines), Decimal("0.00"))
        if pending is not None:
            await pending
    finally:
        # a failed fetch must not close the file under a thread still writing it
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
    return total


async def _public_list(
    session: Any,
    cipher: Cipher,
    writer_for: Callable[[str, list[str]], SheetWriter],
    *,
    region: str,
    scope: str,
) -> tuple[int, Decimal]:
    if not region.startswith(scope) or not await store.region_exists(session, region):
        raise InvalidInput("region: no such township or county in your region", field="region")
    writer = writer_for(
        f"低保公示 {region}", ["村（社区）", "户主姓名", "保障人数", "月保障金（元）"]
    )

    def write(lines: list[store.PublicLine]) -> None:
        for line in lines:
            writer.row([line.village, public_name(line.name), line.size, line.amount])

    try:
        chunks = store.public_lines(session, cipher, region=region, scope=scope)
        total = await _pipe(chunks, write, lambda line: line.amount)
    finally:
        writer.close()
    return writer.rows, total


async def _statistical_return(
    session: Any,
    writer_for: Callable[[str, list[str]], SheetWriter],
    *,
    region: str,
    period: str,
    scope: str,
    today: dt.date,
) -> tuple[int, Decimal]:
    """The month's return of a county or city: the figures `statistics` answers (one
    source: its own function is called, never restated), then people and movements."""
    if not region.startswith(scope) or not await store.region_exists(session, region):
        raise InvalidInput("region: no such city or county in your region", field="region")
    found = await timeliness.statistics(
        session, scope=scope, region=region, period=period, today=today
    )
    year, month = parse_period(period)
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    moved = await store.movements(
        session,
        scope=scope,
        region=region,
        start=month_start(period),
        end=month_start(following),
    )
    covered = await store.people(session, scope=scope, region=region)
    writer = writer_for(
        f"统计报表 {region} {period}", ["项目", "城乡/类别", "状态/细目", "数量", "金额（元）"]
    )
    total = Decimal("0.00")
    try:
        for area, status, households in found.by_status:
            writer.row(["户数", AREA_LABELS.get(area, area), status, households, ""])
        for area in ("URBAN", "RURAL"):
            writer.row(["保障人数", AREA_LABELS[area], "ACTIVE", covered.get(area, 0), ""])
        for category, households in found.by_category:
            label = CATEGORY_LABELS.get(category, category)
            writer.row(["专项户数", label, "ACTIVE", households, ""])
        for label, step in MOVEMENTS:
            writer.row(["当月变动", label, step, moved.get(step, 0), ""])
        for area, status, count, amount in found.payments:
            writer.row(["资金发放", AREA_LABELS.get(area, area), status, count, amount])
            total += amount
        writer.footer(["合计", "", "资金发放", "", total])
    finally:
        writer.close()
    return writer.rows, total


def _following(period: str) -> str:
    year, month = parse_period(period)
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


async def _staff_assessment(
    session: Any,
    writer_for: Callable[[str, list[str]], SheetWriter],
    *,
    region: str,
    period: str,
    period_end: str,
    scope: str,
    settings: Settings,
) -> int:
    """Per principal and step: cases, median working days, past deadline, sent back,
    terminated for false information after their approval; and their audited requests."""
    if not region.startswith(scope) or not await store.region_exists(session, region):
        raise InvalidInput("region: no such region in your scope", field="region")
    start, end = month_start(period), month_start(_following(period_end))
    steps = await store.assessment_steps(session, scope=scope, region=region, start=start, end=end)
    figures = assess(
        steps,
        since=first_day(period),
        until=last_day(period_end),
        calendar=settings.calendar,
        limits=settings.stage_limits,
    )
    audited = await store.audit_counts(
        session, principals=[f.principal for f in figures], region=region, start=start, end=end
    )
    writer = writer_for(
        f"考核 {region} {period}",
        [
            "人员", "角色", "环节", "办理件数", "工作日中位数", "超时件数", "退回或重开件数",
            "批准后12个月内因虚报停保", "审计请求数", "被拒请求数",
        ],
    )  # fmt: skip
    try:
        for f in figures:
            requests, refused = audited.get(f.principal, (0, 0))
            median = f.median_days
            writer.row(
                [
                    f.principal, f.role, f.step, len(f.cases),
                    "" if median is None else median, f.past_deadline, f.sent_back,
                    f.false_information, requests, refused,
                ]
            )  # fmt: skip
    finally:
        writer.close()
    return writer.rows


async def produce(
    session: Any,
    cipher: Cipher,
    *,
    kind: ExportKind,
    params: ExportParams,
    principal: Principal,
    access: Access,
    now: dt.datetime,
    today: dt.date,
    settings: Settings,
) -> Export:
    """Run one export in the caller's transaction; the sealed file is in the register.
    `today` is the Beijing date the categories are counted on (as `statistics` does)."""
    if not access.may_run(POLICY_OBJECTS[kind]):
        raise Forbidden(f"Your role may not export {kind.value}.", field="kind")
    kept = _params(kind, params)
    export_id = new_id()
    suffix = params.format.value.lower()
    with tempfile.TemporaryDirectory(prefix="dibao-export-") as folder:
        path = Path(folder) / f"export.{suffix}"

        def writer_for(title: str, header: list[str]) -> SheetWriter:
            # a sheet title allows 31 characters and no `[]:*?/\`
            return SheetWriter(path, params.format, title=title[:31], header=header)

        if kind is ExportKind.PAYMENT_ROLL:
            # decided once, together: the file is written by these readings and the
            # register keeps them, so a download checks they still hold
            columns = [access.column(obj) for obj in ROLL_COLUMNS]
            kept["columns"] = {obj: access.column_decision(obj) for obj in ROLL_COLUMNS}
            rows, total = await _payment_roll(
                session,
                cipher,
                writer_for,
                batch_id=kept["batchId"],
                scope=principal.scope,
                columns=columns,
            )
        elif kind is ExportKind.PUBLIC_LIST:
            rows, total = await _public_list(
                session, cipher, writer_for, region=kept["region"], scope=principal.scope
            )
        elif kind is ExportKind.STAFF_ASSESSMENT:
            total = None
            rows = await _staff_assessment(
                session,
                writer_for,
                region=kept["region"],
                period=kept["period"],
                period_end=kept["periodEnd"],
                scope=principal.scope,
                settings=settings,
            )
        else:
            rows, total = await _statistical_return(
                session,
                writer_for,
                region=kept["region"],
                period=kept["period"],
                scope=principal.scope,
                today=today,
            )
        digest, size = await asyncio.to_thread(sha256_file, path)
        row = Export(
            id=export_id,
            kind=kind.value,
            format=params.format.value,
            params=kept,
            principal=principal.name,
            role=principal.role,
            scope=principal.scope,
            credential_id=principal.credential_id,
            created_at=now,
            row_count=rows,
            total_amount=total,
            size=size,
            sha256=digest,
        )
        # sealed piece by piece from the file on disk, before the folder goes
        return await store.save_export(session, cipher, row, path)


def summary(row: Export) -> dict[str, Any]:
    """What the audit entry says of an export: never a value from the file."""
    return {
        "id": row.id,
        "kind": row.kind,
        "params": dict(row.params),
        "rows": row.row_count,
        "total": None if row.total_amount is None else cents(row.total_amount),
        "sha256": row.sha256,
        "size": row.size,
    }


# principals with an export being written in this process: an export reads a whole
# scope into a file, so one runs at a time per principal and MAX_RUNNING per process,
# and a principal takes at most `exports_per_day` a day (the cost model prices reads of
# pages, not files)
_RUNNING: set[str] = set()
MAX_RUNNING = 2
BUSY_RETRY_S = 5


async def request_export(info: Info, kind: ExportKind, params: ExportParams) -> Export:
    ctx = info.context
    name = ctx.principal.name
    busy = (
        "kind: an export is being written; one at a time per person and "
        f"{MAX_RUNNING} per server process (导出进行中，请稍后重试)"
    )
    if name in _RUNNING or len(_RUNNING) >= MAX_RUNNING:
        raise QuotaExceeded(busy, field="kind", retry_after=BUSY_RETRY_S)
    _RUNNING.add(name)
    try:
        async with ctx.writing() as session:
            if not await store.claim_export_writer(session, principal=name):
                raise QuotaExceeded(busy, field="kind", retry_after=BUSY_RETRY_S)
            since = beijing_midnight(ctx.today)
            taken = await store.exports_since(session, principal=name, since=since)
            if taken >= ctx.settings.exports_per_day:
                tomorrow = beijing_midnight(ctx.today + dt.timedelta(days=1))
                raise QuotaExceeded(
                    f"kind: {taken} exports taken today, the daily allowance "
                    "(DIBAO_EXPORTS_PER_DAY); retry tomorrow (今日导出次数已满)",
                    field="kind",
                    retry_after=int((tomorrow - ctx.now).total_seconds()) + 1,
                )
            row = await produce(
                session,
                ctx.cipher,
                kind=kind,
                params=params,
                principal=ctx.principal,
                access=ctx,
                now=ctx.now,
                today=ctx.today,
                settings=ctx.settings,
            )
    finally:
        _RUNNING.discard(name)
    ctx.export = summary(row)
    return row


async def exports(info: Info, newest: int = 50) -> list[Export]:
    if not 1 <= newest <= MAX_LISTED:
        raise InvalidInput(f"newest: 1 to {MAX_LISTED}", field="newest")
    async with info.context.reading() as session:
        return list(await store.recent_exports(session, limit=newest))
