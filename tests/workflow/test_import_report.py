"""The `.xlsx` report of `dibao import archives --report` (README, "Bulk import"): a copy of
the register with `导入结果` and `错误`, and a `汇总` summary sheet; it quotes no value in
its messages. Through the CLI, on both backends."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

from python_calamine import CalamineWorkbook

from gateway.config import Settings
from gateway.runtime import Runtime
from tests.cli.test_cli import adibao
from tests.helpers import load_regions
from tests.workflow.test_import import good, row, summary, write_csv


async def test_the_xlsx_report_copies_the_register_with_results_and_a_summary(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await load_regions(runtime)
    rows = [*good("R-1"), row("R-2", 状态="?")]
    register = write_csv(tmp_path / "r.csv", rows)
    report = tmp_path / "report.xlsx"
    run = await adibao(settings, "import", "archives", str(register), "--report", str(report))
    assert run.returncode == 0, run.stderr
    book = CalamineWorkbook.from_path(str(report))
    assert "汇总" in book.sheet_names
    [data] = [name for name in book.sheet_names if name != "汇总"]
    header, *lines = book.get_sheet_by_name(data).to_python()
    assert "导入结果" in header and "错误" in header
    assert len(lines) == len(rows)
    result, error = header.index("导入结果"), header.index("错误")
    by_legacy = {str(line[header.index("原档案编号")]): line for line in lines}
    assert str(by_legacy["R-1"][result]).startswith("已导入")
    assert by_legacy["R-2"][result] == "拒绝" and "[状态]" in str(by_legacy["R-2"][error])
    assert "?" not in str(by_legacy["R-2"][error])  # a message names the column, not the value
    totals = " ".join(str(c) for r in book.get_sheet_by_name("汇总").to_python() for c in r)
    assert summary(run.stdout)["拒绝"] == "1" and "拒绝" in totals


async def test_a_register_cell_that_is_a_formula_stays_text_in_the_report(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    """Attack review (2026-12-04): the report copies the register's cells, and
    xlsxwriter writes a string starting with `=` as a live formula unless told not to;
    a legacy register typed elsewhere could put one in front of whoever opens it."""
    await load_regions(runtime)
    formula = '=HYPERLINK("http://example.invalid/x","点我")'
    register = write_csv(tmp_path / "r.csv", [row("R-9", 状态=formula)])
    report = tmp_path / "report.xlsx"
    run = await adibao(settings, "import", "archives", str(register), "--report", str(report))
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(report) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in book.read(n) for n in sheets)
    csv_report = tmp_path / "report.csv"
    run = await adibao(settings, "import", "archives", str(register), "--report", str(csv_report))
    assert run.returncode == 0, run.stderr
    with csv_report.open(encoding="utf-8-sig") as text:
        cells = [c for line in csv.reader(text) for c in line]
    assert "'" + formula in cells and formula not in cells  # quoted as the exports do
