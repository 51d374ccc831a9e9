"""Legacy register files in and import reports out, a row at a time.

CSV is streamed from the file; .xlsx is read by calamine (Rust), which holds the
sheet's cells natively and hands them to Python one row at a time. Reports are
written as they go: CSV line by line, .xlsx by xlsxwriter in constant-memory mode.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from domain.exports import safe_cell

Source = Path | BinaryIO
_BLOCK = 1 << 20


class UnreadableFile(ValueError):
    """The file is not a register this importer reads (its type or its encoding)."""


def kind_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        raise UnreadableFile("只接受 .xlsx 或 .csv 文件")
    return suffix[1:]


def sha256_of(source: Source) -> str:
    digest = hashlib.sha256()
    if isinstance(source, Path):
        with source.open("rb") as stream:
            while block := stream.read(_BLOCK):
                digest.update(block)
        return digest.hexdigest()
    start = source.tell()
    while block := source.read(_BLOCK):
        digest.update(block)
    source.seek(start)
    return digest.hexdigest()


def _encoding(stream: BinaryIO) -> str:
    """UTF-8 (with or without its BOM) when every byte decodes strictly, else GB18030:
    the two encodings Chinese office software writes CSV in."""
    start = stream.tell()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        while block := stream.read(_BLOCK):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        found = "utf-8-sig"
    except UnicodeDecodeError:
        found = "gb18030"
    stream.seek(start)
    return found


def _cell(value: Any) -> str:
    """A spreadsheet cell as the text the register means: whole numbers without '.0'
    (codes typed as numbers), dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def read_rows(source: Source, kind: str) -> Iterator[list[str]]:
    """The sheet's rows as lists of trimmed texts, the header row first."""
    if kind == "csv":
        yield from _csv_rows(source)
    else:
        yield from _xlsx_rows(source)


def _csv_rows(source: Source) -> Iterator[list[str]]:
    stream: BinaryIO = source.open("rb") if isinstance(source, Path) else source
    try:
        encoding = _encoding(stream)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            for number, row in enumerate(csv.reader(text), start=1):
                # as a workbook's extent: blank lines count, a register has no more
                if number > MAX_XLSX_ROWS + 1:
                    raise UnreadableFile(f"CSV 文件超过 {MAX_XLSX_ROWS} 行")
                yield [cell.strip() for cell in row]
        finally:
            text.detach()
    except UnicodeDecodeError:
        raise UnreadableFile("CSV 文件编码无法识别：请存为 UTF-8 或 GB18030") from None
    except csv.Error:  # a field over the csv module's limit, a stray NUL: not a register
        raise UnreadableFile("CSV 文件格式有误（单元格过长或含非法字符）") from None
    finally:
        if isinstance(source, Path):
            stream.close()


# a workbook's extent, checked before calamine sees it: calamine builds a grid over the
# first and last cell a sheet names, and a two-cell sheet reaching XFD1048576 asks for
# hundreds of gigabytes, which aborts the whole process (not an exception Python can
# catch). A register has a few dozen columns; a county, at most some hundred thousand
# members.
MAX_XLSX_ROWS = 400_000
MAX_XLSX_COLUMNS = 64
MAX_XLSX_UNPACKED = 512 * 1024 * 1024  # bytes of XML a workbook may unpack to
_CELL_REF = re.compile(
    rb'<(?:\w+:)?(?:c|dimension)\b[^>]*?\b(?:r|ref)="'
    rb'([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?"'
)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - ord("A") + 1)
    return number


def check_workbook_extent(source: Source) -> None:
    """Refuse a workbook whose sheets name cells beyond a register's size, or whose parts
    together unpack beyond MAX_XLSX_UNPACKED, reading the zip a piece at a time."""
    stream: IO[bytes] = source.open("rb") if isinstance(source, Path) else source
    start = stream.tell()
    try:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError):
            raise UnreadableFile("无法读取该 .xlsx 文件") from None
        unpacked = 0
        # every part counts, not the sheets alone: calamine reads the shared strings
        # (and styles) whole into memory when it opens the book, so a small upload whose
        # sharedStrings.xml inflates a thousandfold would exhaust memory before a row
        for member in archive.infolist():
            sheet_part = member.filename.startswith("xl/worksheets/")
            with archive.open(member) as sheet:
                tail = b""
                while piece := sheet.read(1 << 20):
                    unpacked += len(piece)
                    if unpacked > MAX_XLSX_UNPACKED:
                        raise UnreadableFile("该 .xlsx 文件解压后过大")
                    if not sheet_part:
                        continue
                    window = tail + piece
                    for match in _CELL_REF.finditer(window):
                        for col, row in ((match[1], match[2]), (match[3], match[4])):
                            if col is None or row is None:
                                continue
                            if _column_number(col) > MAX_XLSX_COLUMNS or int(row) > MAX_XLSX_ROWS:
                                raise UnreadableFile(
                                    f"该 .xlsx 文件超出登记表的范围（至多 {MAX_XLSX_COLUMNS} 列、"
                                    f"{MAX_XLSX_ROWS} 行）"
                                )
                    tail = window[-128:]
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        # a damaged deflate stream, a part cut short, a compression zipfile lacks, an
        # encrypted part: a file we cannot read, answered as such and not as INTERNAL
        raise UnreadableFile("无法读取该 .xlsx 文件") from None
    finally:
        if isinstance(source, Path):
            stream.close()
        else:
            stream.seek(start)


def _xlsx_rows(source: Source) -> Iterator[list[str]]:
    from python_calamine import CalamineWorkbook

    check_workbook_extent(source)
    try:
        book = (
            CalamineWorkbook.from_path(str(source))
            if isinstance(source, Path)
            else CalamineWorkbook.from_filelike(source)
        )
        sheet = book.get_sheet_by_index(0)
    except Exception:  # calamine's own errors: a file that is not a workbook
        raise UnreadableFile("无法读取该 .xlsx 文件") from None
    try:
        for row in sheet.iter_rows():
            yield [_cell(v) for v in row]
    finally:
        book.close()


class ReportWriter:
    """A copy of the input with the outcome and the errors of each row, and a summary."""

    def __init__(self, path: Path, header: list[str], *, outcome: bool = True) -> None:
        self.path = path
        self._xlsx = path.suffix.lower() == ".xlsx"
        columns = [*header, "导入结果", "错误"] if outcome else list(header)
        self._csv: IO[str] | None = None
        if self._xlsx:
            import xlsxwriter  # type: ignore[import-untyped]

            # the register's cells are copied as text: a string starting with `=` is
            # otherwise written as a live formula (and a URL as a link) for whoever opens it
            self._book = xlsxwriter.Workbook(
                str(path),
                {
                    "constant_memory": True,
                    "strings_to_numbers": False,
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                },
            )
            self._sheet = self._book.add_worksheet("导入结果")
            self._summary = self._book.add_worksheet("汇总") if outcome else None
            self._text = self._book.add_format({"num_format": "@"})
            self._next = 0
        else:
            self._csv = path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._csv)
        self.row(columns)

    def row(self, cells: list[str]) -> None:
        if self._csv is not None:
            self._writer.writerow([safe_cell(c) for c in cells])  # as the exports' CSV
            return
        # as text: an ID number or account written as a number would lose digits
        self._sheet.write_row(self._next, 0, cells, self._text)
        self._next += 1

    def close(self, summary: list[tuple[str, str]]) -> None:
        if self._csv is not None:
            self._csv.close()
            return
        for i, (label, value) in enumerate(summary):
            if self._summary is not None:
                self._summary.write_row(i, 0, [label, value])
        self._book.close()
