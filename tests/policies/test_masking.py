from __future__ import annotations

import pytest

from policies.masking import (
    COMPOUND_SURNAMES,
    MASKERS,
    mask_bank_account,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_small_count,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("22018319900101123X", "220183********123X"),  # SPEC
        ("110105194912310021", "110105********0021"),
        ("11010519491231002x", "110105********002x"),
        ("110105491231002", "110105*****1002"),  # old 15-digit number
        ("1101051949", "**********"),
        # one short of the old 15-digit form: not an ID number, nothing of it shown
        ("11010549123100", "**************"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, expected: str) -> None:
    assert mask_id_number(value) == expected
    assert len(mask_id_number(value)) == len(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三", "张*"),  # SPEC
        ("欧阳修文", "欧阳**"),  # SPEC
        ("张三丰", "张**"),
        ("张", "*"),
        ("欧阳", "欧*"),  # only a surname: keep one character
        ("欧阳修", "欧阳*"),
        ("司马相如", "司马**"),
        ("诸葛亮", "诸葛*"),
        ("上官婉儿", "上官**"),
        ("王欧阳", "王**"),  # compound surname not at the start
        ("买买提·艾力", "买*****"),
        ("", ""),
    ],
)
def test_mask_name(value: str, expected: str) -> None:
    assert mask_name(value) == expected


def test_compound_surnames_are_two_characters() -> None:
    assert {"欧阳", "司马", "上官", "诸葛", "第五", "拓跋", "万俟"} <= COMPOUND_SURNAMES
    assert all(len(s) == 2 for s in COMPOUND_SURNAMES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),  # SPEC
        ("043112345678", "********5678"),
        ("0431-1234567", "********4567"),
        ("+8613812345678", "**********5678"),
        ("12345678", "****5678"),
        ("1234567", "****567"),  # never more than half
        ("1234", "**34"),
        ("123", "**3"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_phone(value: str, expected: str) -> None:
    masked = mask_phone(value)
    assert masked == expected
    assert len(masked) == len(value)
    revealed = sum(c != "*" for c in masked)
    assert revealed <= (7 if value == "13812345678" else len(value) // 2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("6222021234567890123", "***************0123"),  # SPEC
        ("12345", "*2345"),
        ("1234", "****"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_bank_account(value: str, expected: str) -> None:
    assert mask_bank_account(value) == expected


@pytest.mark.parametrize("masker", [mask_id_number, mask_name, mask_phone, mask_bank_account])
def test_none_passes_through(masker: object) -> None:
    assert callable(masker)
    assert masker(None) is None


def test_maskers_registry() -> None:
    assert dict(MASKERS) == {
        "Member.idNumber": mask_id_number,
        "Member.name": mask_name,
        "Member.phone": mask_phone,
        "Household.bankAccount": mask_bank_account,
        "Payment.bankAccount": mask_bank_account,
        "RecipientCheck.name": mask_name,
        "RecipientCheck.idNumber": mask_id_number,
        "StatusCount.householdsLabel": mask_small_count,
        "CategoryCount.householdsLabel": mask_small_count,
        "PaymentTotal.paymentsLabel": mask_small_count,
        # a payment roll's personal columns, where the policy masks them (issue 20)
        "PaymentRoll.name": mask_name,
        "PaymentRoll.idNumber": mask_id_number,
        "PaymentRoll.bankAccount": mask_bank_account,
    }
    assert MASKERS["Member.idNumber"]("22018319900101123X") == "220183********123X"
    assert "Member.monthlyIncome" not in MASKERS  # no masked form: cannot be read masked


def test_maskers_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        MASKERS["Member.address"] = mask_name  # type: ignore[index]


def test_small_cells_are_suppressed() -> None:
    assert [mask_small_count(str(n)) for n in (0, 1, 4, 5, 123)] == ["<5", "<5", "<5", "5", "123"]
    assert mask_small_count("many") == "<5"
    assert mask_small_count(None) is None
