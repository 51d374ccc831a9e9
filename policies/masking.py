"""Masked formats for `read_masked` field decisions (SPEC, "Field decisions and masking").

Masking keeps just enough for a person to recognise a record (region and tail
of an ID number, a surname, a phone's tail) and never more. Lengths are kept so
a masked value still looks like what it stands for. Every masker passes None
through: a missing value is not a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import overload

__all__ = [
    "COMPOUND_SURNAMES",
    "MASKERS",
    "Masker",
    "mask_bank_account",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_small_count",
]

# Common two-character (复姓) surnames; a name starting with one keeps both characters.
# fmt: off
COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
    "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里",
    "呼延", "万俟", "闻人", "赫连", "澹台", "公冶", "宗政", "濮阳", "太史", "申屠",
    "钟离", "第五", "拓跋", "司空", "淳于", "单于", "太叔", "仲孙", "东郭", "南门",
    "羊舌", "微生", "梁丘", "左丘", "东门", "公羊", "鲜于", "闾丘", "亓官", "司寇",
    "子车", "颛孙", "壤驷", "公良", "漆雕", "乐正", "宰父", "谷梁", "段干",
})
# fmt: on
_MOBILE_RE = re.compile(r"[0-9]{11}")

Masker = Callable[[str], str]


@overload
def mask_id_number(value: str) -> str: ...
@overload
def mask_id_number(value: None) -> None: ...
@overload
def mask_id_number(value: str | None) -> str | None: ...
def mask_id_number(value: str | None) -> str | None:
    """First 6 (region) and last 4 kept: `220183********123X`. Anything shorter than
    an old 15-digit number is not a well-formed ID and is masked completely."""
    if value is None:
        return None
    if len(value) < 15:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


@overload
def mask_name(value: str) -> str: ...
@overload
def mask_name(value: None) -> None: ...
@overload
def mask_name(value: str | None) -> str | None: ...
def mask_name(value: str | None) -> str | None:
    """Surname kept: `张*`, `欧阳**`. A one-character name keeps nothing (`*`), and a
    name that is only a compound surname keeps one character (`欧*`)."""
    if value is None:
        return None
    if len(value) <= 1:
        return "*" * len(value)
    kept = 2 if len(value) > 2 and value[:2] in COMPOUND_SURNAMES else 1
    return value[:kept] + "*" * (len(value) - kept)


@overload
def mask_phone(value: str) -> str: ...
@overload
def mask_phone(value: None) -> None: ...
@overload
def mask_phone(value: str | None) -> str | None: ...
def mask_phone(value: str | None) -> str | None:
    """Mobile numbers as `138****5678`; any other form keeps at most its last 4
    characters, and never more than half of them."""
    if value is None:
        return None
    if _MOBILE_RE.fullmatch(value):
        return value[:3] + "****" + value[-4:]
    kept = min(4, len(value) // 2)
    return "*" * (len(value) - kept) + value[len(value) - kept :]


@overload
def mask_bank_account(value: str) -> str: ...
@overload
def mask_bank_account(value: None) -> None: ...
@overload
def mask_bank_account(value: str | None) -> str | None: ...
def mask_bank_account(value: str | None) -> str | None:
    """All but the last 4 as `*`; an account of 4 characters or fewer is all `*`."""
    if value is None:
        return None
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


SMALL_CELL = 5  # counts below this are shown as "<5" to roles that may not read the rows
SMALL_CELL_LABEL = f"<{SMALL_CELL}"


@overload
def mask_small_count(value: str) -> str: ...
@overload
def mask_small_count(value: None) -> None: ...
@overload
def mask_small_count(value: str | None) -> str | None: ...
def mask_small_count(value: str | None) -> str | None:
    """Small-cell suppression of a count label: "<5" under five (zero included, since
    "none" is as telling as "one"), the count itself from five up."""
    if value is None:
        return None
    try:
        count = int(value)
    except ValueError:
        return SMALL_CELL_LABEL  # not a count: show nothing more exact than the floor
    return SMALL_CELL_LABEL if count < SMALL_CELL else value


# "Type.field" -> masker. A field absent here has no masked form, so a
# `read_masked` decision on it must be refused rather than served in clear.
MASKERS: Mapping[str, Masker] = MappingProxyType(
    {
        "Member.idNumber": mask_id_number,
        "Member.name": mask_name,
        "Member.phone": mask_phone,
        "Household.bankAccount": mask_bank_account,
        "Payment.bankAccount": mask_bank_account,
        # a payment roll's columns (exports, issue 20): masked as the fields they copy
        "PaymentRoll.name": mask_name,
        "PaymentRoll.idNumber": mask_id_number,
        "PaymentRoll.bankAccount": mask_bank_account,
        "RecipientCheck.name": mask_name,
        "RecipientCheck.idNumber": mask_id_number,
        "StatusCount.householdsLabel": mask_small_count,
        "CategoryCount.householdsLabel": mask_small_count,
        "PaymentTotal.paymentsLabel": mask_small_count,
    }
)
