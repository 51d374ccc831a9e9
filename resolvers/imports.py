"""Bulk import of legacy registers (issue 16): one core for the CLI and the mutation.

The file is read row by row and grouped into households by their legacy archive
number; the rows of a household must be adjacent (a number met again after other
households is refused, naming where it first appeared), so only a chunk of
households is held at a time. Each chunk is checked whole before anything is
written: the rules of `submitApplication` for every row, then one query each for
villages, legacy numbers already imported and ID numbers already claimed. The good
households of a chunk are written in one transaction; should that fail on a
constraint (a claim made meanwhile), each is written in its own, so one bad
household never takes another with it. A dry run does the same reads and writes
nothing. What grows with the file is a short digest per member (the same ID number
twice) and the legacy numbers seen, a few dozen bytes each.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import fields as F
from audit.chain import AuditChain
from audit.lookups import as_probe
from audit.record import AuditRecord
from domain.errors import InvalidInput, QuotaExceeded
from domain.legacy import (
    HEADER_OF,
    KIND_LABELS,
    PAID,
    ErrorKind,
    HeaderError,
    LegacyHousehold,
    LegacyRow,
    RowError,
    ValidHousehold,
    check_household,
    map_headers,
)
from domain.workflow import ReviewClass
from resolvers.context import Info
from resolvers.legacy_files import (
    ReportWriter,
    Source,
    UnreadableFile,
    kind_of,
    read_rows,
    sha256_of,
)
from store import imports as store
from store.crypto import Cipher
from store.regions_data import area_of_village

log = logging.getLogger("dibao.imports")
_BEIJING = dt.timezone(dt.timedelta(hours=8))
CHUNK = 500  # households checked and written together
KEPT_ERRORS = 1000  # errors a caller gets back in memory; the report file has them all


@dataclass
class ImportReport:
    source_sha256: str
    dry_run: bool
    rows: int = 0
    households: int = 0
    imported: int = 0
    already_imported: int = 0
    refused: int = 0
    members_imported: int = 0
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    audit_seq: int | None = None
    archive_nos: list[str] = field(default_factory=list)  # imported, in file order

    def summary(self) -> list[tuple[str, str]]:
        lines = [
            ("源文件 SHA-256", self.source_sha256),
            ("试运行（未写入）", "是" if self.dry_run else "否"),
            ("数据行数", str(self.rows)),
            ("家庭数", str(self.households)),
            ("可导入" if self.dry_run else "已导入", str(self.imported)),
            ("此前已导入", str(self.already_imported)),
            ("拒绝", str(self.refused)),
        ]
        lines += [
            (f"错误：{KIND_LABELS[ErrorKind(kind)]}", str(n))
            for kind, n in sorted(self.errors_by_kind.items())
        ]
        return lines

    def audit_variables(self) -> dict[str, Any]:
        """Counts and the file's hash only: nothing of any person."""
        return {
            "source_sha256": self.source_sha256,
            "rows": self.rows,
            "households": self.households,
            "imported": self.imported,
            "already_imported": self.already_imported,
            "refused": self.refused,
            "errors_by_kind": dict(sorted(self.errors_by_kind.items())),
        }


@dataclass
class _Pending:
    household: LegacyHousehold
    cells: list[list[str]]
    errors: list[RowError] = field(default_factory=list)
    valid: ValidHousehold | None = None
    outcome: str = ""


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (type, encoding, header row)."""


MAX_COLUMNS = 64  # a register has a few dozen; the template has 19


def _checked(pending: Iterator[_Pending]) -> Iterator[_Pending]:
    """A file found unreadable past its header (a malformed CSV row) is the file's error."""
    try:
        yield from pending
    except UnreadableFile as exc:
        raise ImportFileError(str(exc)) from None


def _households(
    rows: Iterator[list[str]], columns: dict[str, int], width: int, finished: dict[str, int]
) -> Iterator[_Pending]:
    """Adjacent rows with the same legacy number, as households."""
    current: _Pending | None = None
    for number, cells in enumerate(rows, start=2):
        if not any(cells):
            continue
        cells = (cells + [""] * width)[:width]
        values = {key: cells[i] for key, i in columns.items() if cells[i]}
        legacy = values.get("legacy_archive_no", "")
        if current is not None and legacy and legacy == current.household.legacy_no:
            current.household.rows.append(LegacyRow(number, values))
            current.cells.append(cells)
            continue
        if current is not None:
            yield current
        current = _Pending(LegacyHousehold(legacy, [LegacyRow(number, values)]), [cells])
        if legacy in finished:
            current.errors.append(
                RowError(
                    number,
                    HEADER_OF["legacy_archive_no"],
                    ErrorKind.SPLIT,
                    f"同户各行须相邻：本户已在第{finished[legacy]}行出现",
                )
            )
        elif legacy:
            finished[legacy] = number
    if current is not None:
        yield current


async def import_archives(
    source: Source,
    *,
    name: str,
    dry_run: bool,
    actor: str,
    actor_role: str,
    scope: str,
    sessions: async_sessionmaker[AsyncSession],
    cipher: Cipher,
    now: dt.datetime,
    chain: AuditChain | None = None,
    client: str | None = None,
    report: Path | None = None,
    review_months: dict[ReviewClass, int] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK,
    session: AsyncSession | None = None,
    charge: Callable[[list[bytes]], None] | None = None,
    claimed: Callable[[list[bytes]], None] | None = None,
) -> ImportReport:
    """Import a register file (a path, or a binary stream with its file name).

    With `chain`, a run that writes leaves one audit entry with its counts. With
    `session` (the mutation), everything is read and written in that transaction, each
    household behind a savepoint, and the request's own audit entry commits with it;
    `charge` is then called with the blind index of every ID number checked for a
    claim before the check, since each answer says whether a person is held somewhere.
    """
    try:
        kind = kind_of(name)
        result = ImportReport(source_sha256=sha256_of(source), dry_run=dry_run)
        rows = read_rows(source, kind)
        header = next(rows, None)
        if header is None:
            raise HeaderError("文件为空")
        if len(header) > MAX_COLUMNS:
            # every row is padded to the header's width and kept for the report while
            # its chunk is checked: a header of millions of empty cells would fill memory
            raise HeaderError(f"表头至多 {MAX_COLUMNS} 列")
        columns = map_headers(header)
    except (HeaderError, ValueError) as exc:
        raise ImportFileError(str(exc)) from None
    writer = ReportWriter(report, header) if report is not None else None
    run = _Run(
        result,
        sessions,
        cipher,
        scope,
        now,
        actor,
        actor_role,
        review_months,
        dry_run,
        tx=session,
        charge=charge,
        claimed=claimed,
    )
    chunk: list[_Pending] = []
    try:
        for pending in _checked(_households(rows, columns, len(header), {})):
            chunk.append(pending)
            if len(chunk) >= chunk_size:
                await run.chunk(chunk, writer)
                chunk = []
                if progress is not None:
                    progress(result.rows)
        if chunk:
            await run.chunk(chunk, writer)
        if progress is not None:
            progress(result.rows)
    except UnicodeDecodeError:
        raise ImportFileError("CSV 文件编码无法识别：请存为 UTF-8 或 GB18030") from None
    finally:
        if writer is not None:
            writer.close(result.summary())
    result.archive_nos = run.archive_nos
    if chain is not None and not dry_run:
        result.audit_seq = await _audit(
            sessions, chain, result, now, actor, actor_role, scope, client
        )
    return result


async def _audit(
    sessions: async_sessionmaker[AsyncSession],
    chain: AuditChain,
    result: ImportReport,
    now: dt.datetime,
    actor: str,
    actor_role: str,
    scope: str,
    client: str | None,
) -> int:
    record = AuditRecord(
        time=now,
        client=client,
        trace_id=None,
        principal=actor,
        role=actor_role,
        scope=scope or "*",
        operation_type="import",
        operation_name="importArchives",
        variables=result.audit_variables(),
        outcome=F.ALLOWED,
    )
    try:
        async with sessions.begin() as session:
            seq = await chain.append(session, record.as_dict())
    except Exception:
        chain.forget_head()
        raise
    chain.committed(seq)
    return seq


@dataclass
class _Run:
    result: ImportReport
    sessions: async_sessionmaker[AsyncSession]
    cipher: Cipher
    scope: str
    now: dt.datetime
    actor: str
    actor_role: str
    review_months: dict[ReviewClass, int] | None
    dry_run: bool
    tx: AsyncSession | None = None
    charge: Callable[[list[bytes]], None] | None = None
    claimed: Callable[[list[bytes]], None] | None = None
    seen: dict[bytes, int] = field(default_factory=dict)
    archive_nos: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncSession]:
        if self.tx is not None:
            yield self.tx
            return
        async with self.sessions() as session:
            yield session

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(_BEIJING).date()

    async def chunk(self, chunk: list[_Pending], writer: ReportWriter | None) -> None:
        for p in chunk:
            valid, errors = check_household(p.household, today=self.today, seen=self.seen)
            p.errors.extend(errors)
            p.valid = valid if not p.errors else None
        await self._check_store(chunk)
        good = [p for p in chunk if p.valid is not None and not p.outcome]
        if good and not self.dry_run:
            await self._write(good)
        elif good:
            for p in good:
                p.outcome = "可导入"
        self._tally(chunk, writer)

    async def _check_store(self, chunk: list[_Pending]) -> None:
        valid = [p for p in chunk if p.valid is not None]
        if not valid:
            return
        async with self._reading() as session:
            villages = await store.villages_in_scope(
                session, {p.valid.application.village_code for p in valid if p.valid}, self.scope
            )
            done = await store.already_imported(
                session, [(p.valid.county, p.valid.legacy_no) for p in valid if p.valid]
            )
            # every key version's index, as claim_ids checks: a claim written under an
            # older key still holds the person
            indexes = {
                id(p): [
                    self.cipher.blind_indexes(m.id_info.number) for m in p.valid.application.members
                ]
                for p in valid
                if p.valid and p.valid.status in PAID
            }
            if self.charge is not None:
                self.charge([found[0] for per in indexes.values() for found in per])
            held = await store.claimed(
                session, [ix for per in indexes.values() for found in per for ix in found]
            )
            if self.claimed is not None:  # what the caller learned: these people are held
                self.claimed(
                    [found[0] for per in indexes.values() for found in per if set(found) & held]
                )
        for p in valid:
            v = p.valid
            assert v is not None
            first = p.household.rows[0].number
            # the region first: whether another county holds a legacy number is not an
            # answer for a caller outside that county
            if v.application.village_code in villages and (v.county, v.legacy_no) in done:
                p.outcome = f"此前已导入：{done[(v.county, v.legacy_no)]}"
                continue
            if v.application.village_code not in villages:
                p.errors.append(
                    RowError(
                        first,
                        HEADER_OF["village_code"],
                        ErrorKind.VILLAGE,
                        "村(居)代码不存在或不在您的辖区",
                    )
                )
            elif area_of_village(v.application.village_code) is not v.area:
                p.errors.append(
                    RowError(first, HEADER_OF["area"], ErrorKind.AREA, "城乡类别与村(居)代码不符")
                )
            for row, found in zip(p.household.rows, indexes.get(id(p), []), strict=False):
                if any(ix in held for ix in found):
                    p.errors.append(
                        RowError(
                            row.number,
                            HEADER_OF["id_number"],
                            ErrorKind.CLAIMED,
                            "此人已属于一户在办或在保家庭（全国查重）",
                        )
                    )
            if p.errors:
                p.valid = None

    async def _write(self, good: list[_Pending]) -> None:
        if self.tx is not None:
            await self._write_within(self.tx, good)
            return
        try:
            async with self.sessions.begin() as session:
                await store.claim_counties(session, _counties(good), wait=True)
                await self._insert(session, good)
        except IntegrityError:
            for p in good:  # one at a time: the constraint names whose turn it was
                try:
                    async with self.sessions.begin() as session:
                        await store.claim_counties(session, _counties([p]), wait=True)
                        await self._insert(session, [p])
                except IntegrityError:
                    p.valid = None
                    p.errors.append(
                        RowError(
                            p.household.rows[0].number,
                            HEADER_OF["id_number"],
                            ErrorKind.CLAIMED,
                            "写入时冲突：身份证号或原档案编号已被同时导入",
                        )
                    )

    async def _write_within(self, tx: AsyncSession, good: list[_Pending]) -> None:
        """The request's transaction: the chunk behind one savepoint, and on a
        constraint each household behind its own, as the separate transactions do.
        Another import writing into one of the chunk's counties holds it off: the
        request's transaction would hold the county until it commits, and waiting
        for a register of thousands of rows would outlast the statement timeout."""
        if not await store.claim_counties(tx, _counties(good), wait=False):
            raise QuotaExceeded(
                "file: another register is being imported into this county; retry when "
                "it is done (本县另有档案正在导入，请稍后重试)",
                field="file",
                retry_after=IMPORT_BUSY_RETRY_S,
            )
        try:
            async with tx.begin_nested():
                await self._insert(tx, good)
            return
        except IntegrityError:
            pass
        for p in good:
            try:
                async with tx.begin_nested():
                    await self._insert(tx, [p])
            except IntegrityError:
                p.valid = None
                p.outcome = ""
                p.errors.append(
                    RowError(
                        p.household.rows[0].number,
                        HEADER_OF["id_number"],
                        ErrorKind.CLAIMED,
                        "写入时冲突：身份证号或原档案编号已被同时导入",
                    )
                )

    async def _insert(self, session: AsyncSession, good: list[_Pending]) -> None:
        households = [p.valid for p in good if p.valid is not None]
        written = await store.write_households(
            session,
            self.cipher,
            households,
            actor=self.actor,
            actor_role=self.actor_role,
            source_sha256=self.result.source_sha256,
            now=self.now,
            review_months=self.review_months,
            held_for_confirmation=self.tx is not None,
        )
        for p, archive_no in zip(good, written.archive_nos, strict=True):
            p.outcome = f"已导入：{archive_no}"
        self.archive_nos.extend(written.archive_nos)

    def _tally(self, chunk: list[_Pending], writer: ReportWriter | None) -> None:
        r = self.result
        for p in chunk:
            r.households += 1
            r.rows += len(p.household.rows)
            if p.errors:
                r.refused += 1
                p.outcome = "拒绝"
                for e in p.errors:
                    r.errors_by_kind[e.kind.value] += 1
                    if len(r.errors) < KEPT_ERRORS:
                        r.errors.append(e)
            elif p.outcome.startswith("此前"):
                r.already_imported += 1
            else:
                r.imported += 1
                r.members_imported += len(p.household.rows)
            if writer is None:
                continue
            by_row: dict[int, list[str]] = {}
            for e in p.errors:
                by_row.setdefault(e.row, []).append(f"[{e.column}] {e.message}")
            for row, cells in zip(p.household.rows, p.cells, strict=True):
                text = "；".join(by_row.get(row.number, []))
                if p.errors and not text:
                    text = "本户其他行有错误，整户未导入"
                writer.row([*cells, p.outcome, text])


MAX_SHOWN_ERRORS = 200  # errors a mutation answers with; the CLI's report has them all


def _found(lookups: list[dict[str, Any]], held: list[bytes]) -> None:
    """Claims the import found held are recorded as found: the misuse rules count them
    as they count a submission refused for a claim elsewhere."""
    keys = {ix.hex() for ix in held}
    for item in lookups:
        if item.get(F.LOOKUP_KIND) == F.LOOKUP_CLAIM and item.get(F.LOOKUP_BLIND_INDEX) in keys:
            item[F.LOOKUP_FOUND] = True


def _upload_name(data: bytes) -> str:
    """The file's kind from its bytes: an .xlsx is a zip, anything else is read as CSV."""
    return "upload.xlsx" if data[:4] == b"PK\x03\x04" else "upload.csv"


IMPORT_BUSY_RETRY_S = 30


def _counties(pending: list[_Pending]) -> set[str]:
    return {p.valid.county for p in pending if p.valid is not None}


async def import_upload(info: Info, file: Any, dry_run: bool) -> ImportReport:
    """`importArchives`: a county reviewer's register, imported in the request's own
    transaction (one audit entry, no entry no data) within the reviewer's region, every
    ID number checked for a claim charged to the lookup quota first (a dry run answers
    "is this person held somewhere?" for each row, as submitting would)."""
    data = getattr(file, "data", None)
    if not isinstance(data, bytes):  # a string sent as JSON where a file goes
        raise InvalidInput(
            "file: send the register as a multipart upload (GraphQL multipart request)",
            field="file",
        )
    if not data:
        raise InvalidInput("file: the register is empty", field="file")
    ctx = info.context
    asked: set[str] = set()

    def charge(indexes: list[bytes]) -> None:
        ctx.check_claims(indexes)
        asked.update(ix.hex() for ix in indexes)

    async with ctx.writing() as session:
        try:
            report = await import_archives(
                io.BytesIO(data),
                name=_upload_name(data),
                dry_run=dry_run,
                actor=ctx.principal.name,
                actor_role=ctx.principal.role,
                scope=ctx.principal.scope,
                sessions=ctx.sessions,
                cipher=ctx.cipher,
                now=ctx.now,
                review_months={ReviewClass(k): v for k, v in ctx.settings.review_months.items()},
                session=session,
                charge=charge,
                claimed=lambda held: _found(ctx.lookups, held),
            )
        except ImportFileError as exc:
            raise InvalidInput(f"file: {exc}", field="file") from None
    if dry_run:  # found free and kept nothing: what a probe of ID numbers looks like
        ctx.lookups[:] = [
            as_probe(item)
            if item.get(F.LOOKUP_BLIND_INDEX) in asked and not item.get(F.LOOKUP_FOUND)
            else item
            for item in ctx.lookups
        ]
    ctx.touched.update(report.archive_nos)
    return report
