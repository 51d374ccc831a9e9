"""An equivalent mutant listed in tests/mutation-equivalents.txt excuses that mutant
and no other: not a killable sibling on the same line, not a twin on an identical line.

bench/mutate.py (`make mutate`) reads the list; an entry that excused more than its
mutant would hide survivors from the figures the README reports."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import load_script

pytest.importorskip("cosmic_ray", reason="the `mutate` extra is not installed")

ROOT = Path(__file__).resolve().parent.parent

# order[1:] makes two NumberReplacer mutants on one line, order[2:] and order[0:];
# the two `if tx is not None:` lines make identical mutants; `kept.sort()` only one
SOURCE = """\
def ranked(order, tx):
    kept = [column for column in order[1:]]
    if tx is not None:
        kept.append(tx)
    if tx is not None:
        kept.append(tx)
    kept.sort()
    return kept
"""
LINE = "kept = [column for column in order[1:]]"
NUMBER = "core/NumberReplacer"
IS = "core/ReplaceComparisonOperator_IsNot_Is"


@pytest.fixture(scope="module")
def mutate() -> ModuleType:
    return load_script(ROOT / "bench" / "mutate.py", "bench_mutate")


def entries(mutate: ModuleType, tmp_path: Path, *lines: str) -> list[object]:
    listed = tmp_path / "equivalents.txt"
    listed.write_text("# a comment\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return list(mutate.load_equivalents(listed))


def excused(mutate: ModuleType, listed: list[object], operator: str, line: str) -> dict[str, bool]:
    """Each mutant of the line, by its text after the mutation: excused or not."""
    mutants = mutate.Mutants(SOURCE)
    return {
        f"{n}:{m.mutant}": mutants.equivalent(listed, "m.py", operator, m.occurrence)[0] is not None
        for n, m in enumerate(mutants.on_line(operator, line), 1)
    }


def test_an_entry_naming_one_mutant_of_a_line_leaves_its_sibling_a_survivor(
    mutate: ModuleType, tmp_path: Path
) -> None:
    listed = entries(
        mutate, tmp_path, f"m.py | {NUMBER} | {LINE} | {LINE.replace('1:', '0:')} | same rows"
    )
    assert excused(mutate, listed, NUMBER, LINE) == {
        "1:kept = [column for column in order[ 2:]]": False,
        "2:kept = [column for column in order[ 0:]]": True,
    }


def test_an_entry_without_its_mutant_excuses_none_of_a_line_of_several(
    mutate: ModuleType, tmp_path: Path
) -> None:
    listed = entries(mutate, tmp_path, f"m.py | {NUMBER} | {LINE} | same rows")
    assert not any(excused(mutate, listed, NUMBER, LINE).values())
    # the report says why the survivor was not excused
    mutants = mutate.Mutants(SOURCE)
    first = mutants.on_line(NUMBER, LINE)[0]
    assert mutants.equivalent(listed, "m.py", NUMBER, first.occurrence) == (None, True)


def test_identical_lines_are_told_apart_by_their_rank(mutate: ModuleType, tmp_path: Path) -> None:
    line = "if tx is not None:"
    ambiguous = entries(mutate, tmp_path, f"m.py | {IS} | {line} | if tx is None: | dead code")
    assert excused(mutate, ambiguous, IS, line) == {
        "1:if tx is None:": False,
        "2:if tx is None:": False,
    }
    second = entries(mutate, tmp_path, f"m.py | {IS} | {line} | #2 if tx is None: | dead code")
    assert excused(mutate, second, IS, line) == {
        "1:if tx is None:": False,
        "2:if tx is None:": True,
    }


def test_a_line_with_one_mutant_needs_no_name(mutate: ModuleType, tmp_path: Path) -> None:
    drop = "dibao/RemoveCallStatement"
    listed = entries(mutate, tmp_path, f"m.py | {drop} | kept.sort() | order kept")
    assert excused(mutate, listed, drop, "kept.sort()") == {"1:None": True}


def test_the_shipped_list_names_each_of_its_mutants_exactly(mutate: ModuleType) -> None:
    """Every entry of tests/mutation-equivalents.txt excuses exactly one mutant of its
    module: none stale, none ambiguous."""
    found: dict[str, object] = {}
    for entry in mutate.load_equivalents():
        if entry.module not in found:
            found[entry.module] = mutate.Mutants((ROOT / entry.module).read_text(encoding="utf-8"))
        mutants = found[entry.module]
        hits = [
            m
            for m in mutants.on_line(entry.operator, entry.line)
            if mutants.equivalent([entry], entry.module, entry.operator, m.occurrence)[0]
        ]
        assert len(hits) == 1, (entry, hits)
