"""The exports' pure rules: the public list's name, safe cells, the bank's lines."""

from __future__ import annotations

import pytest

from domain.enums import PaymentStatus
from domain.exports import BankLine, LineProblem, public_name, read_bank_line, safe_cell

PID = "a" * 32


@pytest.mark.parametrize(
    ("name", "shown"),
    [("王建国", "王*"), ("欧阳明月", "欧*"), ("李四", "李*"), ("李", "*"), ("  ", "*")],
)
def test_the_public_name_keeps_one_character_and_one_star(name: str, shown: str) -> None:
    assert public_name(name) == shown


@pytest.mark.parametrize("text", ["=1+1", "+86", "-3", "@SUM(A1)", "\t=x"])
def test_cells_that_would_be_formulas_are_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert safe_cell("王*") == "王*"


def test_bank_lines() -> None:
    assert read_bank_line(2, [PID, "成功", "R1"]) == BankLine(
        2, PID, PaymentStatus.DISBURSED, "R1", None
    )
    assert read_bank_line(3, [PID, "失败", "", "销户"]) == BankLine(
        3, PID, PaymentStatus.FAILED, None, "销户"
    )
    for cells in ([PID, "成功", ""], [PID, "失败", "R"], ["x", "成功", "R"], [PID, "?", "R"]):
        assert isinstance(read_bank_line(4, cells), LineProblem)
    assert isinstance(read_bank_line(5, [PID, "成功", "R" * 65]), LineProblem)
