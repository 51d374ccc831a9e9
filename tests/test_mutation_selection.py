"""A mutant runs first against the tests that run its lines (bench/mutate.py's
LineTests): the selection must name exactly those tests, and fall back to the whole
row for a line that runs outside any test, or the speed-up would turn kills into
survivors the whole row would not have let live."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("cosmic_ray", reason="the `mutate` extra is not installed")
pytest.importorskip("coverage", reason="the `mutate` extra is not installed")

ROOT = Path(__file__).resolve().parent.parent

MODULE = """\
LIMIT = 3


def small(x):
    return x < LIMIT


def large(x):
    return x > 10 * LIMIT
"""

TESTS = """\
import sys

sys.path.insert(0, {here!r})

import m


def test_small():
    assert m.small(1)


def test_large():
    assert m.large(100)


def test_neither():
    assert True
"""


@pytest.fixture(scope="module")
def mutate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_mutate_sel", ROOT / "bench" / "mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_mutant_runs_the_tests_that_run_its_line_and_an_import_time_line_the_whole_row(
    mutate: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "m.py").write_text(MODULE, encoding="utf-8")
    tests = tmp_path / "test_m.py"
    tests.write_text(TESTS.format(here=str(tmp_path)), encoding="utf-8")
    target = mutate.Target("selection", str(tmp_path / "m.py"), (str(tests),))

    lines, outcome, output = mutate.LineTests.trace(target, 120)

    assert outcome == mutate.TestOutcome.SURVIVED, output

    def chosen(line: int) -> list[str] | None:
        spec = mutate.MutationSpec(
            module_path="m.py",
            operator_name="core/NumberReplacer",
            occurrence=0,
            start_pos=(line, 11),
            end_pos=(line, 12),
        )
        found = lines.tests_for(spec)
        # node ids are relative to pytest's rootdir: compared by file and test name
        return None if found is None else [t.rsplit("/", 1)[-1] for t in found]

    # line 5 runs only under test_small, line 9 only under test_large
    assert chosen(5) == ["test_m.py::test_small"]
    assert chosen(9) == ["test_m.py::test_large"]
    # LIMIT = 3 runs at import, outside any test: every test depends on it
    assert chosen(1) is None
    # a line no test runs (a blank one here) selects the whole row, never no test
    assert chosen(2) is None
