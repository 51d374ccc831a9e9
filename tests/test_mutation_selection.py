"""A mutant runs first against the tests that run its lines (bench/mutate.py's
LineTests), in pytest's process or in one a test starts: the selection must name
exactly those tests, and fall back to the whole
row for a line that runs outside any test, or the speed-up would turn kills into
survivors the whole row would not have let live."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import load_script

pytest.importorskip("cosmic_ray", reason="the `mutate` extra is not installed")
pytest.importorskip("coverage", reason="the `mutate` extra is not installed")

ROOT = Path(__file__).resolve().parent.parent

MODULE = """\
LIMIT = 3


def small(x):
    return x < LIMIT


def large(x):
    return x > 10 * LIMIT


def elsewhere(x):
    return x == LIMIT
"""

TESTS = """\
import subprocess
import sys

sys.path.insert(0, {here!r})

import m


def test_small():
    assert m.small(1)


def test_large():
    assert m.large(100)


def test_neither():
    assert True


def test_in_a_child_process():
    # as a CLI command or a server a test starts: the line runs in another process
    code = "import sys; sys.path.insert(0, {here!r}); import m; assert m.elsewhere(3)"
    subprocess.run([sys.executable, "-c", code], check=True)
"""


@pytest.fixture(scope="module")
def mutate() -> ModuleType:
    return load_script(ROOT / "bench" / "mutate.py", "bench_mutate_sel")


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
    # line 13 runs only in a process test_in_a_child_process starts
    assert chosen(13) == ["test_m.py::test_in_a_child_process"]
    # the quickest first: -x stops at the first failure
    quick = mutate.LineTests(
        {7: ["t::slow", "t::quick", "t::unknown"]}, {"t::slow": 2.0, "t::quick": 0.1}
    )
    assert quick.tests_for(
        mutate.MutationSpec(
            module_path="m.py",
            operator_name="core/NumberReplacer",
            occurrence=0,
            start_pos=(7, 0),
            end_pos=(7, 1),
        )
    ) == ["t::unknown", "t::quick", "t::slow"]
    # every test of the traced pass is timed
    assert {t.rsplit("::", 1)[-1] for t in lines.seconds} == {
        "test_small",
        "test_large",
        "test_neither",
        "test_in_a_child_process",
    }
    # LIMIT = 3 runs at import, outside any test: every test depends on it
    assert chosen(1) is None
    # a line no test runs (a blank one here) selects the whole row, never no test
    assert chosen(2) is None


def test_a_mutant_that_does_not_compile_is_no_kill(mutate: ModuleType) -> None:
    # Cosmic Ray's `*` -> `+` also rewrites a keyword-only marker: `def f(a, +, b)`
    source = "def f(a, *, b):\n    return a * b\n"
    known = mutate.Mutants(source)
    operator = "core/ReplaceBinaryOperator_Mul_Add"
    reasons = [known.invalid(operator, n) for n in range(2)]
    assert reasons[0] is not None and reasons[0].startswith("does not compile")
    assert reasons[1] is None  # a * b -> a + b is a mutant


def test_the_runner_keeps_pytests_exit_status(mutate: ModuleType, tmp_path: Path) -> None:
    tests = tmp_path / "test_x.py"
    tests.write_text("def test_passes():\n    assert True\n", encoding="utf-8")
    python = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    missing = mutate._run_pytest(f"{python} {tests}::test_missing", 60)
    assert (missing[0], mutate._exit_status[0]) == (mutate.TestOutcome.KILLED, 4)
    nothing = mutate._run_pytest(f"{python} -k nothing {tests}", 60)
    assert (nothing[0], mutate._exit_status[0]) == (mutate.TestOutcome.KILLED, 5)
    passing = mutate._run_pytest(f"{python} {tests}", 60)
    assert (passing[0], mutate._exit_status[0]) == (mutate.TestOutcome.SURVIVED, 0)


ROW_MODULE = """\
STATE = []


def note():
    return 1
"""

# test_reads_state needs test_sets_state's state: alone it fails, with or without a
# mutant; neither reads what note() returns, so a mutant there is noticed by no test
ROW_TESTS = """\
import sys
import time

sys.path.insert(0, {here!r})

import m


def test_sets_state():
    m.STATE.append(1)


def test_reads_state():
    m.note()
    assert m.STATE


def test_postgres_reads_state():
    m.note()
    assert m.STATE


def test_waits_for_state():
    m.note()
    while not m.STATE:
        time.sleep(0.1)
"""


def row(mutate: ModuleType, tmp_path: Path, tests_text: str) -> tuple[Path, Path, object, object]:
    """The tiny row's module and tests on disk, its target, and `return 1` -> `return 2`."""
    module = tmp_path / "m.py"
    module.write_text(ROW_MODULE, encoding="utf-8")
    tests = tmp_path / "test_m.py"
    tests.write_text(tests_text, encoding="utf-8")
    target = mutate.Target("selection", str(module), (str(tests),))
    spec = mutate.MutationSpec(
        module_path=str(module),
        operator_name="core/NumberReplacer",
        occurrence=0,
        start_pos=(5, 11),
        end_pos=(5, 12),
    )
    return module, tests, target, spec


@pytest.mark.parametrize(
    ("selected", "timeout"),
    [
        # fails alone, passes in the row after the test it needs
        ("test_reads_state", 120.0),
        # a node id the run cannot find (pytest exits 4)
        ("test_gone", 120.0),
        # deselected by the row's -k "not postgres" (pytest exits 5)
        ("test_postgres_reads_state", 120.0),
        # waits alone for the state the row gives it: a timeout, which counts as a kill
        ("test_waits_for_state", 20.0),
    ],
)
def test_a_selection_that_fails_without_the_mutant_kills_nothing(
    mutate: ModuleType, tmp_path: Path, selected: str, timeout: float
) -> None:
    # `return 1` becomes `return 2`: no test reads it, the whole row passes
    module, tests, target, spec = row(mutate, tmp_path, ROW_TESTS.format(here=str(tmp_path)))
    item = mutate.WorkItem.single("one", spec)
    lines = mutate.LineTests({5: [f"{tests}::{selected}"]}, {})
    passes: dict[tuple[str, ...], bool] = {}

    result, ran = mutate.run_mutant(
        item, target, lines, timeout, [], mutate.Mutants(ROW_MODULE), passes
    )

    assert result.test_outcome == mutate.TestOutcome.SURVIVED, (ran, result.output)
    assert ran == "1 tests (which fail without the mutant too), then the whole row"
    assert passes == {(f"{tests}::{selected}",): False}
    assert module.read_text(encoding="utf-8") == ROW_MODULE


def test_a_selection_that_passes_without_the_mutant_kills_it(
    mutate: ModuleType, tmp_path: Path
) -> None:
    # the test now reads what note() returns and nothing else: it passes alone, and
    # the mutant breaks it alone or in the row
    _, tests, target, spec = row(
        mutate,
        tmp_path,
        ROW_TESTS.format(here=str(tmp_path)).replace(
            "    m.note()\n    assert m.STATE", "    assert m.note() == 1"
        ),
    )
    selection = f"{tests}::test_reads_state"
    lines = mutate.LineTests({5: [selection]}, {})
    passes: dict[tuple[str, ...], bool] = {}

    result, ran = mutate.run_mutant(
        item := mutate.WorkItem.single("one", spec),
        target,
        lines,
        120.0,
        [],
        mutate.Mutants(ROW_MODULE),
        passes,
    )

    assert result.test_outcome == mutate.TestOutcome.KILLED, (ran, result.output)
    assert ran == "1 tests"
    assert passes == {(selection,): True}
    # the selection's run without the mutant is kept: a second mutant does not repeat it
    again, _ = mutate.run_mutant(item, target, lines, 120.0, [], mutate.Mutants(ROW_MODULE), passes)
    assert again.test_outcome == mutate.TestOutcome.KILLED


def test_a_mutant_whose_tests_could_not_start_is_no_kill_but_not_run(
    mutate: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, target, _ = row(mutate, tmp_path, ROW_TESTS.format(here=str(tmp_path)))
    monkeypatch.setattr(mutate, "SESSIONS", tmp_path / "sessions")

    def not_started(*_: object) -> object:
        # what Cosmic Ray returns when the test command's process cannot be made
        return mutate.WorkResult(
            worker_outcome=mutate.WorkerOutcome.NORMAL,
            test_outcome=mutate.TestOutcome.INCOMPETENT,
            output="OSError: [Errno 11] Resource temporarily unavailable",
        )

    monkeypatch.setattr(mutate, "mutate_and_test", not_started)
    log = tmp_path / "log"
    with log.open("w", encoding="utf-8") as stream:
        mutate.run_target(target, limit=None, retest=False, log=stream)
    figures = mutate.report(target, [])

    assert figures["killed"] == 0 and figures["mutants"] == 0, figures
    assert figures["not_run"] == sum(1 for _ in mutate._work_items(target)) > 0
    assert not figures["goal_met"]
    assert "tests not started" in log.read_text(encoding="utf-8")
