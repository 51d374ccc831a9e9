"""Validation of an application (household + members) before anything is written.

Every problem names the field path the caller sent (`members[1].idNumber`) and
the reason, never the value: the value may be a personal one.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.enums import AssetKind, DisabilityKind, Relation, Sex
from domain.errors import InvalidInput
from domain.idnumber import IdInfo, parse_id_number
from domain.region import validate_village_code

# ASCII digits only: `\d` would take full-width and Arabic-Indic digits too, which
# banks and carriers do not, and which would defeat duplicate checks on the value
_PHONE_RE = re.compile(r"\A(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})\Z")
_BANK_RE = re.compile(r"\A[0-9]{12,19}\Z")
# CJK ideographs incl. the rare ones of the supplementary planes (生僻字 in real names
# live there), compatibility ideographs, Latin letters, the middle dot of minority
# and foreign names, and single spaces. No digits, quotes, brackets or emoji.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME_RE = re.compile(rf"^[{_CJK}A-Za-z·• ]{{1,30}}$")
# addresses and bank names: letters and digits of any script, spaces and the
# punctuation addresses use; no quotes, semicolons, angle brackets or equals signs,
# so markup and SQL fragments are refused rather than stored
_TEXT_RE = re.compile(rf"^[{_CJK}\w \-#()（）,，.。、/·:：]+$")
MAX_MEMBERS = 20
MAX_INCOME = Decimal("1000000.00")
MAX_ASSETS = 20
MAX_ASSET_VALUE = Decimal("100000000.00")
# grade 3 qualifies a member for 单人保 only for these kinds (重度残疾 by 57号's reading)
_GRADE_3_SEVERE = frozenset({DisabilityKind.INTELLECTUAL, DisabilityKind.MENTAL})


@dataclass(frozen=True, slots=True)
class MemberDraft:
    name: str
    id_number: str
    relation: Relation
    monthly_income: Decimal
    phone: str | None = None
    disability_grade: int | None = None
    disability_kind: DisabilityKind | None = None
    serious_illness: bool = False
    student: bool = False
    staff_relative: bool = False  # 近亲属备案: approval then needs the county's own visit
    covered: bool = False  # named for single-person cover (单人保)


@dataclass(frozen=True, slots=True)
class AssetDraft:
    kind: AssetKind
    value: Decimal
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationDraft:
    village_code: str
    members: Sequence[MemberDraft]
    address: str | None = None
    bank_account: str | None = None
    bank_name: str | None = None
    assets: Sequence[AssetDraft] = ()


@dataclass(frozen=True, slots=True)
class ValidMember:
    draft: MemberDraft
    name: str
    id_info: IdInfo
    phone: str | None
    monthly_income: Decimal

    @property
    def sex(self) -> Sex:
        return self.id_info.sex


@dataclass(frozen=True, slots=True)
class ValidApplication:
    village_code: str
    members: tuple[ValidMember, ...]
    address: str | None
    bank_account: str | None
    bank_name: str | None
    assets: tuple[AssetDraft, ...] = ()

    @property
    def single_person_cover(self) -> bool:
        return any(m.draft.covered for m in self.members)


def single_cover_qualifies(
    disability_grade: int | None, disability_kind: DisabilityKind | None, serious_illness: bool
) -> bool:
    """单人保 (57号): a grade 1-2 disability, a grade 3 intellectual or mental one, or a
    serious illness."""
    if serious_illness or disability_grade in (1, 2):
        return True
    return disability_grade == 3 and disability_kind in _GRADE_3_SEVERE


def refuse_controls(value: str, field: str) -> None:
    """Control, format, surrogate and unassigned code points are never data."""
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"} for c in value):
        raise InvalidInput(
            f"{field}: control or invisible characters are not accepted", field=field
        )


def validate_text(value: str | None, field: str, *, max_length: int) -> str | None:
    """Optional free text (address, bank name): trimmed, bounded, plain characters."""
    if value is None or not value.strip():
        return None
    refuse_controls(value, field)
    text = " ".join(value.split())
    if len(text) > max_length:
        raise InvalidInput(f"{field}: at most {max_length} characters", field=field)
    if not _TEXT_RE.match(text):
        raise InvalidInput(
            f"{field}: letters, digits, spaces and - # ( ) , . 、 / : only", field=field
        )
    return text


def validate_money(value: Decimal, field: str) -> Decimal:
    try:
        if not value.is_finite() or value < 0 or value > MAX_INCOME:
            raise InvalidInput(f"{field}: must be between 0 and {MAX_INCOME}", field=field)
        if value != value.quantize(Decimal("0.01")):
            raise InvalidInput(f"{field}: at most two decimal places (yuan and fen)", field=field)
    except InvalidOperation:
        raise InvalidInput(f"{field}: not an amount", field=field) from None
    return value.quantize(Decimal("0.01"))


def validate_member(index: int, draft: MemberDraft, today: dt.date) -> ValidMember:
    """One member, its problems named by its path `members[index]`."""
    path = f"members[{index}]"
    refuse_controls(draft.name, f"{path}.name")
    name = " ".join(draft.name.split())
    if not _NAME_RE.match(name):
        raise InvalidInput(f"{path}.name: 1 to 30 Chinese or Latin letters", field=f"{path}.name")
    info = parse_id_number(draft.id_number, field=f"{path}.idNumber", today=today)
    phone = None
    if draft.phone is not None and draft.phone.strip():
        phone = draft.phone.strip().replace(" ", "")
        if not _PHONE_RE.match(phone):
            raise InvalidInput(
                f"{path}.phone: a mobile (11 digits) or landline number", field=f"{path}.phone"
            )
    if draft.disability_grade is not None and not 1 <= draft.disability_grade <= 4:
        raise InvalidInput(
            f"{path}.disabilityGrade: 1 to 4, or null for none", field=f"{path}.disabilityGrade"
        )
    if draft.disability_kind is not None and draft.disability_grade is None:
        raise InvalidInput(
            f"{path}.disabilityKind: given with a disability grade, and only then",
            field=f"{path}.disabilityKind",
        )
    if draft.covered and not single_cover_qualifies(
        draft.disability_grade, draft.disability_kind, draft.serious_illness
    ):
        raise InvalidInput(
            f"{path}.covered: single-person cover (单人保) is for a member with a grade 1-2 "
            "disability, a grade 3 intellectual or mental disability, or a serious illness",
            field=f"{path}.covered",
        )
    income = validate_money(draft.monthly_income, f"{path}.monthlyIncome")
    return ValidMember(draft=draft, name=name, id_info=info, phone=phone, monthly_income=income)


def validate_application(draft: ApplicationDraft, *, today: dt.date) -> ValidApplication:
    village = validate_village_code(draft.village_code, field="villageCode")
    if not 1 <= len(draft.members) <= MAX_MEMBERS:
        raise InvalidInput(f"members: 1 to {MAX_MEMBERS} members", field="members")
    members = tuple(validate_member(i, m, today) for i, m in enumerate(draft.members))
    heads = [m for m in members if m.draft.relation is Relation.HEAD]
    if len(heads) != 1:
        raise InvalidInput("members: exactly one member must be the HEAD", field="members")
    seen: dict[str, int] = {}
    for i, member in enumerate(members):
        if member.id_info.number in seen:
            raise InvalidInput(
                f"members[{i}].idNumber: same person as members[{seen[member.id_info.number]}]",
                field=f"members[{i}].idNumber",
            )
        seen[member.id_info.number] = i
    bank = None
    if draft.bank_account is not None and draft.bank_account.strip():
        bank = draft.bank_account.replace(" ", "").strip()
        if not _BANK_RE.match(bank):
            raise InvalidInput("bankAccount: 12 to 19 digits", field="bankAccount")
    if members and all(m.draft.covered for m in members):
        raise InvalidInput(
            "members.covered: single-person cover names some members; "
            "leave all unflagged for the whole household",
            field="members",
        )
    address = validate_text(draft.address, "address", max_length=200)
    bank_name = validate_text(draft.bank_name, "bankName", max_length=100)
    return ValidApplication(
        village_code=village,
        members=members,
        address=address,
        bank_account=bank,
        bank_name=bank_name,
        assets=validate_assets(draft.assets),
    )


def validate_assets(assets: Sequence[AssetDraft]) -> tuple[AssetDraft, ...]:
    """Declared assets: at most MAX_ASSETS, each a positive amount with a short description."""
    if len(assets) > MAX_ASSETS:
        raise InvalidInput(f"assets: at most {MAX_ASSETS}", field="assets")
    valid = []
    for i, asset in enumerate(assets):
        path = f"assets[{i}]"
        try:
            ok = asset.value.is_finite() and 0 <= asset.value <= MAX_ASSET_VALUE
            exact = ok and asset.value == asset.value.quantize(Decimal("0.01"))
        except InvalidOperation:
            ok = exact = False
        if not ok:
            raise InvalidInput(f"{path}.value: 0 to {MAX_ASSET_VALUE} yuan", field=f"{path}.value")
        if not exact:
            raise InvalidInput(f"{path}.value: at most two decimal places", field=f"{path}.value")
        description = validate_text(asset.description, f"{path}.description", max_length=200)
        valid.append(
            AssetDraft(
                kind=asset.kind,
                value=asset.value.quantize(Decimal("0.01")),
                description=description,
            )
        )
    return tuple(valid)
