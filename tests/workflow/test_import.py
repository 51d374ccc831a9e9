"""Bulk import of legacy registers (issue 16), through the CLI, read back through the API."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from domain.enums import HouseholdStatus
from domain.idnumber import make_id_number
from domain.legacy import COLUMNS
from domain.workflow import IMPORTED_STATUSES, Situation, Step, next_status
from gateway.config import Settings
from gateway.runtime import Runtime
from store.models import AuditEntry, Household, IdClaim, Review
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.helpers import RURAL_VILLAGE, URBAN_VILLAGE, application, issue_token, load_regions

HEADERS = [c.header for c in COLUMNS]
SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
BY_LEGACY = """query($l: String!) { households(legacyArchiveNo: $l) { totalCount edges { node {
  archiveNo status legacyArchiveNo monthlyBenefit nextReviewOn reviewClass
  members { name idNumber relation } reviews { step toStatus reason }
  benefitHistory { amount } } } } }"""
_people = itertools.count(1)


def person(birth: dt.date = dt.date(1966, 3, 21), county: str = "220183") -> str:
    """A valid ID number no other test uses: born on other days than tests/helpers.py's
    `id_number` (1970-05-17), whose sequence runs through 500..999 too in a long run."""
    n = next(_people)
    return make_id_number(county, birth + dt.timedelta(days=n // 500), 500 + n % 500)


def row(legacy: str, relation: str = "户主", **cells: str) -> dict[str, str]:
    base = {
        "原档案编号": legacy,
        "村(居)代码": URBAN_VILLAGE,
        "城乡": "城市",
        "姓名": "王建国" if relation == "户主" else "李秀英",
        "身份证号": person(),
        "与户主关系": relation,
        "月收入": "200",
        "残疾等级": "",
        "残疾类别": "",
        "重病": "否",
        "在校生": "否",
        "联系电话": "13812345678",
        "开户银行": "农村信用社",
        "银行账号": "6222021234567890123",
        "家庭住址": "幸福路 12 号",
        "保障金额": "650.00",
        "批准日期": "2021-04-01",
        "状态": "在保",
        "出生日期": "",
    }
    return {**base, **cells}


def good(legacy: str, status: str = "在保") -> list[dict[str, str]]:
    return [
        row(legacy, 状态=status),
        # household columns left empty below the first row, as merged cells read
        row(
            legacy,
            "配偶",
            **dict.fromkeys(("村(居)代码", "城乡", "保障金额", "批准日期", "状态"), ""),
        ),
    ]


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8-sig",
              headers: list[str] = HEADERS) -> Path:  # fmt: skip
    with path.open("w", encoding=encoding, newline="") as f:
        out = csv.writer(f)
        out.writerow(headers)
        out.writerows([r[h] for h in HEADERS] for r in rows)
    return path


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def summary(stdout: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


async def _count(runtime: Runtime, model: Any) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _imports(runtime: Runtime) -> list[dict[str, Any]]:
    """The import entries of the audit log (the API's own requests leave theirs too)."""
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry.entry)
            .where(AuditEntry.entry.like('%"operation_type":"import"%'))
            .order_by(AuditEntry.seq)
        )
        return [orjson.loads(r) for r in rows]


def _bad_households(claimed_id: str) -> tuple[list[dict[str, str]], list[tuple[str, str, str]]]:
    """Households with one seeded error each, and (legacy no, column, kind label) expected."""
    bad_check = person()
    bad_check = bad_check[:-1] + ("0" if bad_check[-1] != "0" else "1")
    twice = person()
    cases: list[tuple[list[dict[str, str]], str, str]] = [
        ([row("B-01", 身份证号=bad_check)], "身份证号", "校验位"),
        (
            [row("B-02", 身份证号=make_id_number("990101", dt.date(1970, 1, 1), 501))],
            "身份证号",
            "地区码",
        ),
        (
            [row("B-03", 身份证号=make_id_number("220183", dt.date(2099, 1, 1), 502))],
            "身份证号",
            "出生日期",
        ),
        ([row("B-04", 出生日期="1970-01-01")], "出生日期", "出生日期"),
        ([row("B-05", 身份证号=twice), row("B-05", "配偶", 身份证号=twice)], "身份证号", "同一人"),
        ([row("B-06", 身份证号=claimed_id)], "身份证号", "全国查重"),
        ([row("B-07", **{"村(居)代码": "220183100999"})], "村(居)代码", "不存在"),
        ([row("B-08"), row("B-08")], "与户主关系", "户主"),
        ([row("B-09", 月收入="三百")], "月收入", "金额"),
        ([row("B-10", 保障金额="12.345")], "保障金额", "金额"),
        ([row("B-11", 批准日期="2024-13-01")], "批准日期", "日期"),
        ([row("B-12", 状态="待定")], "状态", "在保"),
        ([row("B-13"), row("B-13", "配偶", 家庭住址="别的路 3 号")], "家庭住址", "不一致"),
        ([row("B-14", 城乡="农村")], "城乡", "不符"),
    ]
    rows = [r for household, _, _ in cases for r in household]
    return rows, [(h[0]["原档案编号"], column, word) for h, column, word in cases]


async def test_a_register_with_every_kind_of_error(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", "220183100")
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    held = application()
    submitted = await api.gql(worker, SUBMIT, {"input": held})
    assert "errors" not in submitted, submitted
    bad_rows, expected = _bad_households(held["members"][0]["idNumber"])
    statuses = itertools.cycle(["在保", "暂停", "停保", "ACTIVE"])
    good_rows = [r for i in range(34) for r in good(f"G-{i:02d}", next(statuses))]
    rural = [row("G-R1", **{"村(居)代码": RURAL_VILLAGE, "城乡": "农村"})]
    # a household met again after another one: its later rows are refused
    split = [row("G-00", "子女", 姓名="王小明")]
    rows = good_rows[:10] + split + good_rows[10:] + rural + bad_rows
    register = write_csv(tmp_path / "register.csv", rows)
    sha = hashlib.sha256(register.read_bytes()).hexdigest()

    run = await adibao(
        settings, "import", "archives", str(register), "--report", str(tmp_path / "r.csv")
    )
    assert run.returncode == 0, run.stderr
    totals = summary(run.stdout)
    assert totals["家庭数"] == str(34 + 1 + 1 + 14)
    assert totals["已导入"] == "35" and totals["拒绝"] == "15", run.stdout

    report = read_report(tmp_path / "r.csv")
    assert len(report) == len(rows)
    assert [r["身份证号"] for r in report] == [r["身份证号"] for r in rows]  # a copy, in order
    for legacy, column, word in expected:
        lines = [r for r in report if r["原档案编号"] == legacy]
        assert all(r["导入结果"] == "拒绝" for r in lines), legacy
        named = [r["错误"] for r in lines if f"[{column}]" in r["错误"]]
        assert named and word in named[0], (legacy, column, [r["错误"] for r in lines])
    split_line = report[10]
    assert split_line["导入结果"] == "拒绝" and "第2行" in split_line["错误"]
    assert all(
        r["导入结果"].startswith("已导入")
        for r in report
        if r["原档案编号"].startswith("G-") and r is not split_line
    )

    # the good households are archives like any other, found by their legacy number
    found = await api.gql(reviewer, BY_LEGACY, {"l": "G-00"})
    assert found["data"]["households"]["totalCount"] == 1, found
    node = found["data"]["households"]["edges"][0]["node"]
    assert node["legacyArchiveNo"] == "G-00" and node["status"] == "ACTIVE"
    assert node["archiveNo"].startswith(URBAN_VILLAGE + "-")
    assert [m["relation"] for m in node["members"]] == ["HEAD", "SPOUSE"]
    assert node["members"][0]["idNumber"] == good_rows[0]["身份证号"]
    assert [r["step"] for r in node["reviews"]] == ["IMPORTED"]
    assert sha in node["reviews"][0]["reason"]
    assert node["monthlyBenefit"] == "650.00" and node["benefitHistory"][0]["amount"] == "650.00"
    assert node["nextReviewOn"] is not None and node["reviewClass"] is not None
    ended = (await api.gql(reviewer, BY_LEGACY, {"l": "G-02"}))["data"]["households"]
    assert ended["edges"][0]["node"]["status"] == "TERMINATED"
    assert ended["edges"][0]["node"]["benefitHistory"] == []
    for legacy, _, _ in expected:
        none = await api.gql(reviewer, BY_LEGACY, {"l": legacy})
        assert none["data"]["households"]["totalCount"] == 0, legacy
    # outside the caller's region the legacy number finds nothing
    elsewhere = await issue_token(runtime, "county_reviewer", "520121")
    assert (await api.gql(elsewhere, BY_LEGACY, {"l": "G-00"}))["data"]["households"][
        "totalCount"
    ] == 0

    # each history replays through the state machine: IMPORTED from nothing, into a
    # status a register may give
    async with runtime.sessions() as session:
        steps = (await session.execute(select(Review.from_status, Review.to_status, Review.reason)
                 .where(Review.step == Step.IMPORTED.value))).all()  # fmt: skip
        claims = await session.scalar(
            select(func.count()).select_from(IdClaim).join(Household, Household.archive_no == IdClaim.archive_no)
            .where(Household.legacy_archive_no.is_not(None))
        )  # fmt: skip
    assert len(steps) == 35
    for from_status, to_status, reason in steps:
        assert from_status is None and HouseholdStatus(to_status) in IMPORTED_STATUSES
        assert next_status(HouseholdStatus.DRAFT, Step.IMPORTED, reason=reason,
                           situation=Situation(today=dt.date(2026, 12, 1))) is HouseholdStatus.DRAFT  # fmt: skip
    # the paid households (not the terminated ones) hold their members' ID numbers
    assert claims == 2 * (34 - 8) + 1

    # one audit entry: the counts, and nothing of any person
    (entry,) = await _imports(runtime)
    last = orjson.dumps(entry).decode()
    assert entry["operation_type"] == "import"
    assert entry["variables"]["rows"] == len(rows)
    assert entry["variables"]["imported"] == 35 and entry["variables"]["refused"] == 15
    assert entry["variables"]["source_sha256"] == sha
    for r in rows:
        assert r["身份证号"] not in last and r["身份证号"][:14] not in last
    assert "王建国" not in last and "13812345678" not in last
    assert all(r["身份证号"] not in run.stdout + run.stderr for r in rows)

    # the same file again imports nothing twice
    households = await _count(runtime, Household)
    again = await adibao(
        settings, "import", "archives", str(register), "--report", str(tmp_path / "r2.xlsx")
    )
    assert again.returncode == 0, again.stderr
    assert summary(again.stdout)["已导入"] == "0"
    assert summary(again.stdout)["此前已导入"] == "35"
    assert summary(again.stdout)["拒绝"] == "15"
    assert await _count(runtime, Household) == households
    assert (tmp_path / "r2.xlsx").read_bytes()[:2] == b"PK"


async def test_a_dry_run_writes_nothing_and_reports_the_same(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await load_regions(runtime)
    rows = [*good("D-1"), *good("D-2", "暂停"), row("D-3", 状态="?")]
    register = write_csv(tmp_path / "dry.csv", rows)
    counts = [await _count(runtime, m) for m in (Household, Review, IdClaim, AuditEntry)]
    assert counts[-1] == 0  # no request here: the dry run's own entry would show
    dry = await adibao(
        settings,
        "import",
        "archives",
        str(register),
        "--dry-run",
        "--report",
        str(tmp_path / "d.csv"),
    )
    assert dry.returncode == 0, dry.stderr
    assert [await _count(runtime, m) for m in (Household, Review, IdClaim, AuditEntry)] == counts
    outcomes = [r["导入结果"] for r in read_report(tmp_path / "d.csv")]
    assert outcomes == ["可导入"] * 4 + ["拒绝"]
    assert summary(dry.stdout)["可导入"] == "2" and summary(dry.stdout)["拒绝"] == "1"
    real = await adibao(
        settings, "import", "archives", str(register), "--report", str(tmp_path / "w.csv")
    )
    assert real.returncode == 0, real.stderr
    written = read_report(tmp_path / "w.csv")
    assert [r["导入结果"] == "拒绝" for r in written] == [o == "拒绝" for o in outcomes]
    assert [r["错误"] for r in written] == [r["错误"] for r in read_report(tmp_path / "d.csv")]
    assert await _count(runtime, Household) == counts[0] + 2


async def test_gb18030_csv_with_english_headers(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await load_regions(runtime)
    aliases = [c.key for c in COLUMNS]
    register = write_csv(tmp_path / "gbk.csv", good("旧-档-7"), encoding="gb18030", headers=aliases)
    with __import__("pytest").raises(UnicodeDecodeError):
        register.read_bytes().decode("utf-8")
    run = await adibao(settings, "import", "archives", str(register))
    assert run.returncode == 0, run.stderr
    assert summary(run.stdout)["已导入"] == "1", run.stdout
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    found = await api.gql(reviewer, BY_LEGACY, {"l": "旧-档-7"})
    node = found["data"]["households"]["edges"][0]["node"]
    assert [m["name"] for m in node["members"]] == ["王建国", "李秀英"]  # decoded, not mojibake


async def test_a_file_that_is_not_a_register_is_refused_plainly(
    settings: Settings, tmp_path: Path
) -> None:
    headerless = tmp_path / "x.csv"
    headerless.write_text("a,b\n1,2\n", encoding="utf-8")
    run = await adibao(settings, "import", "archives", str(headerless))
    assert run.returncode == 2 and "缺少必需的列" in run.stderr and "Traceback" not in run.stderr
    other = tmp_path / "x.html"
    other.write_text("<html></html>", encoding="utf-8")
    run = await adibao(settings, "import", "archives", str(other))
    assert run.returncode == 2 and "Traceback" not in run.stderr


async def test_the_template_is_the_documented_columns(settings: Settings, tmp_path: Path) -> None:
    run = await adibao(settings, "import", "template", str(tmp_path / "t.csv"))
    assert run.returncode == 0, run.stderr
    header = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header == HEADERS
    shipped = Path(__file__).parents[2] / "docs" / "import-template.csv"
    assert shipped.read_text(encoding="utf-8-sig").splitlines()[0].split(",") == HEADERS
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for c in COLUMNS:
        assert f"`{c.header}`" in readme and f"`{c.key}`" in readme, c.key
