"""Export files written a row at a time: .xlsx by xlsxwriter in constant-memory mode
(each row goes to disk as it is written), or .csv in UTF-8 with its BOM, which is
what office software in China needs to open Chinese text correctly.

Every text cell is written as text: an ID number or an account written as a number
would lose digits. In CSV a cell starting with `=` would be run as a formula when
opened, so it is quoted there (domain.exports.safe_cell).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from domain.exports import ExportFormat, safe_cell

Cell = str | int | Decimal


class SheetWriter:
    def __init__(self, path: Path, fmt: ExportFormat, *, title: str, header: list[str]) -> None:
        self.path = path
        self.rows = 0
        self._csv: IO[str] | None = None
        if fmt is ExportFormat.XLSX:
            import xlsxwriter  # type: ignore[import-untyped]

            self._book: Any = xlsxwriter.Workbook(
                str(path),
                {
                    "constant_memory": True,
                    "strings_to_numbers": False,
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                },
            )
            self._sheet = self._book.add_worksheet(title)
            self._text = self._book.add_format({"num_format": "@"})
            self._money = self._book.add_format({"num_format": "0.00"})
            self._next = 0
        else:
            self._csv = path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._csv)
        self._write(header)

    def _write(self, cells: Sequence[Cell]) -> None:
        if self._csv is not None:
            self._writer.writerow([safe_cell(c) if isinstance(c, str) else str(c) for c in cells])
            return
        for col, cell in enumerate(cells):
            if isinstance(cell, str):
                # a string cell is never a formula in .xlsx: kept as it is
                self._sheet.write_string(self._next, col, cell, self._text)
            elif isinstance(cell, Decimal):
                # shown to the cent; the file's totals are summed as Decimal, not here
                self._sheet.write_number(self._next, col, float(cell), self._money)
            else:
                self._sheet.write_number(self._next, col, cell)
        self._next += 1

    def row(self, cells: Sequence[Cell]) -> None:
        self._write(cells)
        self.rows += 1

    def footer(self, cells: Sequence[Cell]) -> None:
        """A line that is not a data row (the totals): not counted."""
        self._write(cells)

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
        else:
            self._book.close()


def sha256_file(path: Path) -> tuple[str, int]:
    """The file's SHA-256 and size, read a megabyte at a time."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
