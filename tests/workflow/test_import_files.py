"""Register files an attacker shapes: a workbook naming a far cell would make calamine
allocate a grid of hundreds of gigabytes and abort the process; it is refused first.
Run in a child process, so a regression shows as a failure, not a dead test run."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG = "http://schemas.openxmlformats.org/package/2006"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def workbook(last_cell: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{PKG}/content-types"><Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'worksheet+xml"/></Types>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
            '<is><t>原档案编号</t></is></c></row><row r="2">'
            f'<c r="{last_cell}" t="inlineStr"><is><t>y</t></is></c></row>'
            "</sheetData></worksheet>",
        )
    return buf.getvalue()


CHILD = """
import io, sys
from resolvers.legacy_files import UnreadableFile, read_rows
data = sys.stdin.buffer.read()
try:
    rows = list(read_rows(io.BytesIO(data), "xlsx"))
except UnreadableFile as exc:
    print("refused", exc)
else:
    print("read", len(rows))
"""


def read_in_child(data: bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD],
        input=data.decode("latin-1"),
        capture_output=True,
        text=True,
        encoding="latin-1",
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )


@pytest.mark.parametrize("far", ["XFD1048576", "A900000", "BZ2"])
def test_a_workbook_reaching_a_far_cell_is_refused_before_calamine(far: str) -> None:
    done = read_in_child(workbook(far))
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.startswith("refused"), done.stdout


def test_an_ordinary_workbook_is_still_read() -> None:
    done = read_in_child(workbook("B2"))
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "read 2"
