"""Exports: the files a county hands in (payment rolls, public lists), as pure rules.

Which kinds there are, the policy object that decides each, the public list's
masking rule, how a cell is made safe for office software, and how a line of the
bank's result file is read. No I/O here: the writers and the store do that.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal

from domain.enums import PaymentStatus


class ExportKind(enum.StrEnum):
    PAYMENT_ROLL = "PAYMENT_ROLL"  # 发放名册
    PUBLIC_LIST = "PUBLIC_LIST"  # 公示名单
    STATISTICAL_RETURN = "STATISTICAL_RETURN"  # 月度统计报表
    STAFF_ASSESSMENT = "STAFF_ASSESSMENT"  # 考核


class ExportFormat(enum.StrEnum):
    XLSX = "XLSX"
    CSV = "CSV"


# the policy object that decides who may run (write) and fetch each kind
POLICY_OBJECTS: dict[ExportKind, str] = {
    ExportKind.PAYMENT_ROLL: "Export.paymentRoll",
    ExportKind.PUBLIC_LIST: "Export.publicList",
    ExportKind.STATISTICAL_RETURN: "Export.statisticalReturn",
    ExportKind.STAFF_ASSESSMENT: "Export.staffAssessment",
}
EXPORT_TYPE = "Export"  # the policy objects above are run (act `write`), not read
# the payment roll's personal columns, each decided as the field it copies would be
ROLL_COLUMNS = ("PaymentRoll.name", "PaymentRoll.idNumber", "PaymentRoll.bankAccount")
# how much of a column each decision shows (policies.engine.Decision's values)
_SHOWS = {"read": 2, "read_masked": 1, "denied": 0}


def columns_still_readable(written: object, current: dict[str, str]) -> bool:
    """Whether the caller's decisions now (`current`) show each of a roll's personal
    columns at least as the file holds it (`written`, the register's record of the
    decisions it was written by): a column revoked or narrowed since is not served
    from an old file. A register naming no decisions (a file written before they were
    kept) is taken to hold every column in clear."""
    held = written if isinstance(written, dict) else {}
    return all(
        # what the caller reads now, nothing if unknown; what the file holds, all if unknown
        _SHOWS.get(current.get(obj, ""), 0) >= _SHOWS.get(str(held.get(obj, "read")), 2)
        for obj in ROLL_COLUMNS
    )


# the policy's types that are not GraphQL types: a secadmin grants and revokes on them too
POLICY_TYPES = frozenset({EXPORT_TYPE, "PaymentRoll"})
FILE_STEMS: dict[ExportKind, str] = {
    ExportKind.PAYMENT_ROLL: "payment-roll",
    ExportKind.PUBLIC_LIST: "public-list",
    ExportKind.STATISTICAL_RETURN: "statistical-return",
    ExportKind.STAFF_ASSESSMENT: "staff-assessment",
}
MAX_ASSESSMENT_MONTHS = 12
# the month's movements of a statistical return: the review step that records each
MOVEMENTS = (("新增", "APPROVE"), ("停保", "TERMINATE"), ("渐退", "ENTER_GRADUAL_EXIT"))
AREA_LABELS = {"URBAN": "城市", "RURAL": "农村"}
CATEGORY_LABELS = {
    "DISABLED": "残疾人",
    "ELDERLY": "老年人",
    "MINOR": "未成年人",
    "SERIOUSLY_ILL": "重病患者",
}
MEDIA_TYPES: dict[ExportFormat, str] = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv; charset=utf-8",
}
_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")


def is_row_id(value: str) -> bool:
    """An id as this service hands them out (exports, batches, payments)."""
    return _ID_RE.match(value) is not None


def file_name(kind: ExportKind, fmt: ExportFormat, export_id: str) -> str:
    return f"{FILE_STEMS[kind]}-{export_id}.{fmt.value.lower()}"


def public_name(name: str) -> str:
    """The public list's name: the first character and one `*`, whatever the length.

    Fixed, not the policy's masking: a public notice is the same for every reader,
    and keeping the length would tell a two-character name from a three-character one.
    """
    stripped = name.strip()
    # a one-character name would be shown whole by "first character and a star"
    return f"{stripped[:1]}*" if len(stripped) > 1 else "*"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A text cell office software shows as text: a leading `=`, `+`, `-` or `@` would
    make a spreadsheet evaluate it (CSV injection), so it is quoted with `'`."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


# --- the bank's result file (回盘文件), one line per payment of the roll
BANK_RETURN_HEADER = ("付款编号", "结果", "银行流水号", "失败原因")
PAID = frozenset({"成功", "已发放", "DISBURSED", "PAID", "SUCCESS"})
NOT_PAID = frozenset({"失败", "未发放", "FAILED", "FAIL"})
MAX_BANK_REFERENCE = 64
MAX_FAILURE_REASON = 200
# exports one principal may request through the API in a Beijing day (DIBAO_EXPORTS_PER_DAY):
# each is a whole-scope read written to a file, priced by this and not by the cost model
EXPORTS_PER_DAY = 50
# days a finished export's file is kept for its taker to download
# (DIBAO_EXPORT_KEEP_DAYS): a payment roll is for this week's payment run, not an
# archive of its own; the register's row, its SHA-256 and the audit entries stay
EXPORT_KEEP_DAYS = 7
MAX_RETURN_LINES = 400_000  # a county's roll with its back pay lines, with room to spare
MAX_REPORTED = 1000  # problem lines named in an answer; the count says how many more


@dataclass(frozen=True, slots=True)
class BankLine:
    line: int  # the line number in the file, the header being line 1
    payment_id: str
    outcome: PaymentStatus
    reference: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class LineProblem:
    line: int
    message: str  # Chinese: read by the finance officer


def read_bank_line(line: int, cells: list[str]) -> BankLine | LineProblem:
    """One line of the result file, checked on its own (whether its payment exists is
    the store's question)."""
    padded = [*cells, "", "", "", ""][:4]
    payment_id, result, reference, reason = (c.strip() for c in padded)
    if not _ID_RE.match(payment_id):
        return LineProblem(line, "付款编号格式不正确")
    upper = result.upper()
    if upper in PAID or result in PAID:
        if not reference:
            return LineProblem(line, "发放成功须填写银行流水号")
        if len(reference) > MAX_BANK_REFERENCE:
            return LineProblem(line, f"银行流水号至多 {MAX_BANK_REFERENCE} 个字符")
        return BankLine(line, payment_id, PaymentStatus.DISBURSED, reference, None)
    if upper in NOT_PAID or result in NOT_PAID:
        if not reason:
            return LineProblem(line, "发放失败须填写失败原因")
        if len(reason) > MAX_FAILURE_REASON:
            return LineProblem(line, f"失败原因至多 {MAX_FAILURE_REASON} 个字符")
        return BankLine(line, payment_id, PaymentStatus.FAILED, None, reason)
    return LineProblem(line, "结果须为“成功”或“失败”")


def cents(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"
