"""Legacy registers (paper-era spreadsheets) read row by row, with no I/O.

One row per member; the rows of a household share its legacy archive number
(原档案编号). Each row becomes a `MemberDraft` and each household an
`ApplicationDraft`, checked by the validators `submitApplication` uses
(domain/application.py), so an imported archive meets the same rules as a new
one. Problems are reported per row and column, in Chinese for the officials who
correct the file, and never quote a value: the report is the county's own copy,
but these messages also reach logs.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from domain.application import (
    ApplicationDraft,
    MemberDraft,
    ValidApplication,
    validate_application,
    validate_member,
    validate_money,
)
from domain.enums import Area, DisabilityKind, HouseholdStatus, Relation
from domain.errors import InvalidInput
from domain.idnumber import normalize_id_number
from domain.region import validate_village_code

MAX_LEGACY_NO = 40
EARLIEST_APPROVAL = dt.date(1990, 1, 1)


class ErrorKind(enum.StrEnum):
    ID_NUMBER = "ID_NUMBER"  # shape, check character or region of issue
    BIRTH_DATE = "BIRTH_DATE"  # impossible, future, or not the ID number's
    DUPLICATE_ID = "DUPLICATE_ID"  # the same person twice in the file
    CLAIMED = "CLAIMED"  # held by a pending or active household (nationwide)
    VILLAGE = "VILLAGE"  # no such village (村/居)
    AREA = "AREA"  # 城乡 unknown or not the village's track
    HEAD = "HEAD"  # not exactly one head (户主)
    MONEY = "MONEY"
    DATE = "DATE"
    STATUS = "STATUS"
    MISMATCH = "MISMATCH"  # rows of one household disagree on a household column
    SPLIT = "SPLIT"  # the household's rows are not adjacent
    VALUE = "VALUE"  # any other cell the application rules refuse
    MISSING = "MISSING"  # a required cell left empty


KIND_LABELS: Mapping[ErrorKind, str] = {
    ErrorKind.ID_NUMBER: "身份证号无效",
    ErrorKind.BIRTH_DATE: "出生日期不符",
    ErrorKind.DUPLICATE_ID: "文件内身份证号重复",
    ErrorKind.CLAIMED: "已在他户在办或在保",
    ErrorKind.VILLAGE: "村(居)代码不存在",
    ErrorKind.AREA: "城乡类别有误",
    ErrorKind.HEAD: "户主人数有误",
    ErrorKind.MONEY: "金额有误",
    ErrorKind.DATE: "日期有误",
    ErrorKind.STATUS: "状态未知",
    ErrorKind.MISMATCH: "同户信息不一致",
    ErrorKind.SPLIT: "同户各行不相邻",
    ErrorKind.VALUE: "内容不合规",
    ErrorKind.MISSING: "必填项为空",
}


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the English alias
    header: str  # the template's Chinese header
    household: bool  # the same on every row of a household
    required: bool


COLUMNS: tuple[Column, ...] = (
    Column("legacy_archive_no", "原档案编号", True, True),
    Column("village_code", "村(居)代码", True, True),
    Column("area", "城乡", True, True),
    Column("name", "姓名", False, True),
    Column("id_number", "身份证号", False, True),
    Column("relation", "与户主关系", False, True),
    Column("monthly_income", "月收入", False, True),
    Column("disability_grade", "残疾等级", False, False),
    Column("disability_kind", "残疾类别", False, False),
    Column("serious_illness", "重病", False, False),
    Column("student", "在校生", False, False),
    Column("phone", "联系电话", False, False),
    Column("bank_name", "开户银行", True, False),
    Column("bank_account", "银行账号", True, False),
    Column("address", "家庭住址", True, False),
    Column("benefit", "保障金额", True, False),
    Column("approved_on", "批准日期", True, True),
    Column("status", "状态", True, True),
    Column("birth_date", "出生日期", False, False),  # optional: checked against the ID
)
BY_KEY: Mapping[str, Column] = {c.key: c for c in COLUMNS}
HEADER_OF: Mapping[str, str] = {c.key: c.header for c in COLUMNS}
_FOLD = str.maketrans({"（": "(", "）": ")", " ": "", "\u3000": ""})
ALIASES: Mapping[str, str] = {
    **{c.header.translate(_FOLD): c.key for c in COLUMNS},
    **{c.key: c.key for c in COLUMNS},
}

RELATIONS: Mapping[str, Relation] = {
    "户主": Relation.HEAD,
    "本人": Relation.HEAD,
    "配偶": Relation.SPOUSE,
    "妻": Relation.SPOUSE,
    "夫": Relation.SPOUSE,
    "子女": Relation.CHILD,
    "子": Relation.CHILD,
    "女": Relation.CHILD,
    "父母": Relation.PARENT,
    "父亲": Relation.PARENT,
    "母亲": Relation.PARENT,
    "孙子女": Relation.GRANDCHILD,
    "孙子": Relation.GRANDCHILD,
    "孙女": Relation.GRANDCHILD,
    "兄弟姐妹": Relation.SIBLING,
    "其他": Relation.OTHER,
    **{r.value: r for r in Relation},
}
STATUSES: Mapping[str, HouseholdStatus] = {
    "在保": HouseholdStatus.ACTIVE,
    "正常": HouseholdStatus.ACTIVE,
    "保障中": HouseholdStatus.ACTIVE,
    "暂停": HouseholdStatus.SUSPENDED,
    "停发": HouseholdStatus.SUSPENDED,
    "停保": HouseholdStatus.TERMINATED,
    "终止": HouseholdStatus.TERMINATED,
    "退保": HouseholdStatus.TERMINATED,
    "ACTIVE": HouseholdStatus.ACTIVE,
    "SUSPENDED": HouseholdStatus.SUSPENDED,
    "TERMINATED": HouseholdStatus.TERMINATED,
}
# paid statuses: the benefit amount is required, the ID numbers are claimed
PAID = frozenset({HouseholdStatus.ACTIVE, HouseholdStatus.SUSPENDED})
AREAS: Mapping[str, Area] = {
    "城市": Area.URBAN,
    "城镇": Area.URBAN,
    "城": Area.URBAN,
    "农村": Area.RURAL,
    "乡村": Area.RURAL,
    "URBAN": Area.URBAN,
    "RURAL": Area.RURAL,
}
KINDS: Mapping[str, DisabilityKind] = {
    "视力": DisabilityKind.VISUAL,
    "听力": DisabilityKind.HEARING,
    "言语": DisabilityKind.SPEECH,
    "肢体": DisabilityKind.PHYSICAL,
    "智力": DisabilityKind.INTELLECTUAL,
    "精神": DisabilityKind.MENTAL,
    "多重": DisabilityKind.MULTIPLE,
    **{k.value: k for k in DisabilityKind},
}
_GRADES = {"一": 1, "二": 2, "三": 3, "四": 4}
_YES = frozenset({"是", "有", "Y", "YES", "TRUE", "1", "√"})
_NO = frozenset({"", "否", "无", "N", "NO", "FALSE", "0"})
_DATE_RE = re.compile(r"\A(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\Z|\A(\d{4})(\d{2})(\d{2})\Z")
_LEGACY_RE = re.compile(r"\A[0-9A-Za-z\-_/#.()\u4e00-\u9fff]{1,40}\Z")


class HeaderError(ValueError):
    """The file cannot be read as a register at all (its header row)."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the spreadsheet's row number (the header is row 1)
    column: str  # the Chinese header
    kind: ErrorKind
    message: str  # Chinese, naming the rule, never the value

    def text(self) -> str:
        return f"第{self.row}行[{self.column}] {self.message}"


@dataclass(slots=True)
class LegacyRow:
    number: int
    values: dict[str, str]  # column key -> the cell, trimmed


@dataclass(slots=True)
class LegacyHousehold:
    legacy_no: str
    rows: list[LegacyRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ValidHousehold:
    legacy_no: str
    county: str
    application: ValidApplication
    area: Area
    status: HouseholdStatus
    benefit: Decimal | None
    approved_on: dt.date
    rows: tuple[int, ...]  # row numbers of the members, in order


def map_headers(cells: Sequence[str]) -> dict[str, int]:
    """Column key -> position; Chinese headers or their English aliases."""
    found: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = ALIASES.get(str(cell).strip().translate(_FOLD)) or ALIASES.get(
            str(cell).strip().lower()
        )
        if key is None:
            continue
        if key in found:
            raise HeaderError(f"表头重复：{HEADER_OF[key]}")
        found[key] = position
    missing = [c.header for c in COLUMNS if c.required and c.key not in found]
    if missing:
        raise HeaderError("缺少必需的列：" + "、".join(missing))
    return found


def person_digest(id_number: str) -> bytes:
    """A short digest to find the same person twice in one file without keeping numbers."""
    return hashlib.blake2b(normalize_id_number(id_number).encode(), digest_size=12).digest()


def parse_date(text: str) -> dt.date | None:
    match = _DATE_RE.fullmatch(text.strip().split(" ")[0].split("T")[0])
    if match is None:
        return None
    parts = [g for g in match.groups() if g is not None]
    try:
        return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def parse_money(text: str) -> Decimal:
    """An amount as submitApplication takes it (0 to the ceiling, at most two places)."""
    try:
        value = Decimal(text.replace(",", "").replace("元", "").strip())
    except InvalidOperation:
        raise InvalidInput("not an amount") from None
    return validate_money(value, "amount")


class _Row:
    """Collects one row's problems while its cells are converted."""

    def __init__(self, row: LegacyRow, errors: list[RowError]) -> None:
        self.row = row
        self.errors = errors

    def fail(self, key: str, kind: ErrorKind, message: str) -> None:
        self.errors.append(RowError(self.row.number, HEADER_OF[key], kind, message))

    def cell(self, key: str) -> str:
        return self.row.values.get(key, "")


_MONEY_MSG = "应为0至1000000之间的金额，最多两位小数"


def _member(r: _Row, index: int, today: dt.date) -> MemberDraft | None:
    count = len(r.errors)
    for key in ("name", "id_number", "relation", "monthly_income"):
        if not r.cell(key):
            r.fail(key, ErrorKind.MISSING, "不能为空")
    relation = RELATIONS.get(r.cell("relation").upper() or "?")
    if r.cell("relation") and relation is None:
        r.fail("relation", ErrorKind.VALUE, "应为 户主、配偶、子女、父母、孙子女、兄弟姐妹 或 其他")
    income = Decimal(0)
    if r.cell("monthly_income"):
        try:
            income = parse_money(r.cell("monthly_income"))
        except InvalidInput:
            r.fail("monthly_income", ErrorKind.MONEY, _MONEY_MSG)
    grade_text = r.cell("disability_grade").replace("级", "")
    grade = _GRADES.get(grade_text) or (int(grade_text) if grade_text.isdigit() else None)
    if grade_text and grade not in (1, 2, 3, 4):
        r.fail("disability_grade", ErrorKind.VALUE, "应为1至4级，无残疾留空")
    kind_text = r.cell("disability_kind").replace("残疾", "").upper()
    kind = KINDS.get(kind_text) if kind_text else None
    if kind_text and kind is None:
        r.fail(
            "disability_kind", ErrorKind.VALUE, "应为 视力、听力、言语、肢体、智力、精神 或 多重"
        )
    flags = {}
    for key in ("serious_illness", "student"):
        text = r.cell(key).upper()
        if text not in _YES | _NO:
            r.fail(key, ErrorKind.VALUE, "应为 是 或 否")
        flags[key] = text in _YES
    if len(r.errors) > count or relation is None:
        return None
    draft = MemberDraft(
        name=r.cell("name"),
        id_number=r.cell("id_number"),
        relation=relation,
        monthly_income=income,
        phone=r.cell("phone") or None,
        disability_grade=grade,
        disability_kind=kind,
        serious_illness=flags["serious_illness"],
        student=flags["student"],
    )
    try:
        valid = validate_member(index, draft, today)
    except InvalidInput as exc:
        _member_error(r, exc)
        return None
    birth_text = r.cell("birth_date")
    if birth_text and parse_date(birth_text) != valid.id_info.birth_date:
        r.fail("birth_date", ErrorKind.BIRTH_DATE, "与身份证号中的出生日期不一致")
        return None
    return draft


# the application rules name a field path; the register names the column
_MEMBER_FIELDS: Mapping[str, tuple[str, ErrorKind, str]] = {
    "name": ("name", ErrorKind.VALUE, "应为1至30个汉字或拉丁字母"),
    "phone": ("phone", ErrorKind.VALUE, "应为11位手机号或固定电话"),
    "disabilityGrade": ("disability_grade", ErrorKind.VALUE, "应为1至4级，无残疾留空"),
    "disabilityKind": ("disability_kind", ErrorKind.VALUE, "仅在有残疾等级时填写"),
    "monthlyIncome": ("monthly_income", ErrorKind.MONEY, _MONEY_MSG),
}


def _member_error(r: _Row, exc: InvalidInput) -> None:
    suffix = (exc.field or "").rsplit(".", 1)[-1]
    if suffix == "idNumber":
        if "birth date" in exc.message:
            r.fail("id_number", ErrorKind.BIRTH_DATE, "身份证号中的出生日期不存在或在未来")
        elif "region" in exc.message:
            r.fail("id_number", ErrorKind.ID_NUMBER, "身份证号的地区码无效（GB/T 2260）")
        elif "check character" in exc.message:
            r.fail("id_number", ErrorKind.ID_NUMBER, "身份证号校验位不符（GB 11643）")
        else:
            r.fail("id_number", ErrorKind.ID_NUMBER, "身份证号应为18位：17位数字加数字或X")
        return
    key, kind, message = _MEMBER_FIELDS.get(suffix, ("name", ErrorKind.VALUE, "内容不合规"))
    r.fail(key, kind, message)


def _household_values(household: LegacyHousehold, errors: list[RowError]) -> dict[str, str]:
    """Each household column's value: the first non-empty cell; a different one later is
    a disagreement (empty cells below the first row are allowed: merged cells read so)."""
    values: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row in household.rows:
        for column in COLUMNS:
            if not column.household:
                continue
            text = row.values.get(column.key, "")
            if not text:
                continue
            if column.key not in values:
                values[column.key], first_row[column.key] = text, row.number
            elif text != values[column.key]:
                errors.append(
                    RowError(
                        row.number,
                        column.header,
                        ErrorKind.MISMATCH,
                        f"同户各行不一致（与第{first_row[column.key]}行不同）",
                    )
                )
    return values


def check_household(
    household: LegacyHousehold, *, today: dt.date, seen: dict[bytes, int]
) -> tuple[ValidHousehold | None, list[RowError]]:
    """Every problem of a household's rows; a valid household when there is none.

    `seen` maps each person met so far in the file (person_digest) to its row, so the
    same ID number twice is reported with the row it first appeared on.
    """
    errors: list[RowError] = []
    first = household.rows[0].number
    head = _Row(household.rows[0], errors)
    values = _household_values(household, errors)
    drafts: list[MemberDraft | None] = []
    for index, row in enumerate(household.rows):
        r = _Row(row, errors)
        draft = _member(r, index, today)
        drafts.append(draft)
        if draft is not None:
            digest = person_digest(draft.id_number)
            if digest in seen:
                r.fail("id_number", ErrorKind.DUPLICATE_ID, f"与第{seen[digest]}行为同一人")
            else:
                seen[digest] = row.number
    if len(household.legacy_no) > MAX_LEGACY_NO or not _LEGACY_RE.match(household.legacy_no):
        head.fail("legacy_archive_no", ErrorKind.VALUE, "应为1至40个字母、数字或汉字")
    village = values.get("village_code", "")
    try:
        validate_village_code(village)
    except InvalidInput:
        head.fail("village_code", ErrorKind.VILLAGE, "应为12位村(居)代码")
    area = AREAS.get(values.get("area", "").upper())
    if area is None:
        head.fail("area", ErrorKind.AREA, "应为 城市 或 农村")
    status = STATUSES.get(values.get("status", "").upper())
    if status is None:
        head.fail("status", ErrorKind.STATUS, "应为 在保、暂停 或 停保")
    approved = parse_date(values.get("approved_on", ""))
    if approved is None or not EARLIEST_APPROVAL <= approved <= today:
        head.fail("approved_on", ErrorKind.DATE, "应为1990年以后、不晚于今天的日期，如2024-03-01")
    benefit, benefit_bad = None, False
    if values.get("benefit"):
        try:
            benefit = parse_money(values["benefit"])
        except InvalidInput:
            head.fail("benefit", ErrorKind.MONEY, _MONEY_MSG)
            benefit_bad = True
    if status in PAID and not benefit_bad and (benefit is None or benefit <= 0):
        head.fail("benefit", ErrorKind.MONEY, "在保或暂停的家庭须填写大于0的保障金额")
    heads = [
        row
        for row in household.rows
        if RELATIONS.get(row.values.get("relation", "").upper()) is Relation.HEAD
    ]
    if len(heads) != 1:
        where = heads[1] if len(heads) > 1 else household.rows[0]
        errors.append(
            RowError(where.number, HEADER_OF["relation"], ErrorKind.HEAD, "每户须有且只有一名户主")
        )
    if errors:
        return None, errors
    members = [d for d in drafts if d is not None]
    try:
        application = validate_application(
            ApplicationDraft(
                village_code=village,
                members=members,
                address=values.get("address"),
                bank_account=values.get("bank_account"),
                bank_name=values.get("bank_name"),
            ),
            today=today,
        )
    except InvalidInput as exc:
        column = {"bankAccount": "bank_account", "address": "address", "bankName": "bank_name"}
        key = column.get(exc.field or "", "relation")
        messages = {
            "bank_account": "应为12至19位数字",
            "address": "只可含文字、数字、空格及 - # ( ) , . 、 / :",
            "bank_name": "只可含文字、数字、空格及 - # ( ) , . 、 / :",
        }
        errors.append(
            RowError(first, HEADER_OF[key], ErrorKind.VALUE, messages.get(key, "内容不合规"))
        )
        return None, errors
    if area is None or status is None or approved is None:  # reported above
        return None, errors
    return (
        ValidHousehold(
            legacy_no=household.legacy_no,
            county=village[:6],
            application=application,
            area=area,
            status=status,
            benefit=benefit,
            approved_on=approved,
            rows=tuple(row.number for row in household.rows),
        ),
        errors,
    )
