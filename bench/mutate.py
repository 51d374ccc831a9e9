"""Mutation testing of the modules that keep the README's promises (`make mutate`).

Each target below names a module, the functions in it that keep a promise (all of
it when none are named) and the tests that can notice a break there. Every mutant
is one small change to the file on disk (Cosmic Ray's operators, plus one of ours
that drops a call made for its effect, such as an audit append); the target's
tests then run with `-x` and a timeout. A mutant the tests do not fail on survived.

Why this shape:
- Only the tests that can kill a mutant run: the whole suite takes minutes, a
  focused selection seconds. The table is the contract: a promise's tests belong
  in its row. Within the row a mutant runs first against the tests that run its
  lines (LineTests), then, if it survives them, against the whole row.
- SQLite only, unless the module branches on the dialect (the chain's append, the
  hot-path reader, the request pipeline's lone append): then PostgreSQL runs too.
  A mutant elsewhere is the same Python on both backends.
- Mutants are counted per target; `strict` targets (scoped queries, mask
  application, audit write paths) must have no survivor, the rest at least 90%
  killed. An equivalent mutant is listed with its reason in
  tests/mutation-equivalents.txt and counted apart; an entry names its line and,
  where the line has several mutants of its operator, the line after the mutation:
  it excuses that mutant and no sibling (tests/test_mutation_equivalents.py).
- Results are kept per target in .mutate/ (Cosmic Ray work databases) keyed by
  the module's text and the functions, so an interrupted run resumes; a test added
  to a row keeps them (one taken out of it throws them away), and
  `--retest-survivors` runs the survivors, and the timeouts, again with it.

Prints JSON: per target mutants, killed, timeouts, survived, equivalent, and each
survivor with its file:line and diff. Exit status 1 when a target misses its goal.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cosmic_ray.mutating
import parso
from cosmic_ray import plugins
from cosmic_ray.ast import ast_nodes, get_ast, get_ast_from_path
from cosmic_ray.mutating import mutate_and_test, mutate_code
from cosmic_ray.operators.operator import Example, Operator
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import (
    MutationSpec,
    TestOutcome,
    WorkerOutcome,
    WorkItem,
    WorkResult,
)
from coverage import CoverageData

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = ROOT / ".mutate"
EQUIVALENTS = ROOT / "tests" / "mutation-equivalents.txt"
GOAL_REST = 0.90


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    tests: tuple[str, ...]
    functions: frozenset[str] = frozenset()  # empty: the whole module
    strict: bool = False  # zero survivors expected
    postgres: bool = False  # run the PostgreSQL variants too (dialect branches)


def _fns(*names: str) -> frozenset[str]:
    return frozenset(names)


# Test selections: the files whose tests can notice a break in the module.
MASK_TESTS = (
    "tests/policies/test_masking.py",
    "tests/authz/test_masks_by_response_key.py",
)
# analyse also starts the walk (depth, multiplier, variables) and refuses a second
# mutation field: the tests that notice a wrong start
MASK_APPLICATION_TESTS = (
    *MASK_TESTS,
    "tests/authz/test_limits.py::test_cost_is_each_field_times_the_pages_above_it",
    "tests/workflow/test_claim_oracle.py::test_a_write_cannot_be_paired_with_a_failing_one",
    "tests/api/test_rate_limits.py::test_lookup_quota_per_minute_and_per_day",
)
# test_matrix.py (the whole decision table, ~20 s) is left to `make test`: every_field
# asks the same engine for every field of the schema in a few seconds
POLICY_TESTS = (
    "tests/authz/test_every_field.py",
    "tests/authz/test_limits.py",
)
# the walk also names the archives a request's arguments name and finds the fields its
# filter arguments filter by: the tests that read those, which the other policy rows
# do not need (the walk's costs, calls and lookups are read by test_limits.py)
WALK_TESTS = (
    *POLICY_TESTS,
    *MASK_TESTS,
    "tests/authz/test_filter_arguments.py::test_a_denied_field_cannot_be_used_as_a_filter",
    # a filter by a masked field refused too (no shipped filter field has a masker)
    "tests/authz/test_filter_arguments.py::test_a_masked_field_cannot_be_used_as_a_filter_either",
    "tests/audit/test_audit_log.py::test_an_entry_names_the_households_its_arguments_name",
)
PIPELINE_TESTS = (
    "tests/api/test_pipeline_entries.py",
    "tests/api/test_errors.py",
    "tests/audit/test_audit_log.py",
    # _finish hands each committed entry to the anchors: only these tests read them
    "tests/audit/test_anchors.py",
    # the audit span names the entry's sequence number: only the tracing test reads it
    "tests/audit/test_tracing.py::test_spans_trace_id_header_and_audit_agree",
    # a mutation's entry is timed apart from the group commit: only the first reads
    # it; the second states "a revocation made here holds here at once" directly
    "tests/api/test_metrics.py::test_a_mutation_entry_is_timed_as_one_audit_append",
    "tests/api/test_authentication.py::test_a_revocation_through_the_api_holds_on_the_next_request",
)
APPEND_TESTS = (
    "tests/audit/test_audit_log.py",
    "tests/api/test_pipeline_entries.py",
    "tests/audit/test_tamper.py",
    # concurrent reads' entries reach the chain through the group commit's batches
    "tests/audit/test_group_commit.py",
    # only committed entries are handed to the anchors: only these tests read them
    "tests/audit/test_anchors.py",
    # another process moved the head first: the append starts again from its head
    "tests/audit/test_concurrent_chain.py",
)
VERIFY_TESTS = (
    "tests/audit/test_tamper.py",
    "tests/audit/test_audit_log.py",
    "tests/audit/test_retention.py",
    "tests/audit/test_anchors.py",
)
# test_region_scope_everywhere reads every list and lookup as a narrow caller over
# rows outside its scope: the test that kills a lost WHERE
SCOPE_TESTS = (
    "tests/api/test_households.py",
    "tests/api/test_region_scope_everywhere.py",
    "tests/api/test_cursors.py",
    "tests/api/test_statement_count.py",
    "tests/api/test_compiled_path.py",
    "tests/authz/test_masks_by_response_key.py",
    # households(legacyArchiveNo:) finds the one imported archive and nothing else:
    # the only reader of that filter (a dropped filter survived without it)
    "tests/workflow/test_import_mutation.py",
)
# the households module also cuts each household's histories to their newest rows,
# filters pages by the marginal flag, checks a prefix before writing it into the SQL
# and finds the standard in force on a day: the tests that read those, which no other
# scoped module needs
HOUSEHOLD_TESTS = (
    *SCOPE_TESTS,
    "tests/api/test_list_bounds.py",
    "tests/workflow/test_special_groups.py::test_edge_families_are_listed_in_scope_only",
    "tests/workflow/test_standards_dates.py::test_a_benefit_is_paid_on_the_standard_in_force_the_day_it_starts",
    "tests/store/test_code_prefix.py",
)
AUTH_TESTS = (
    "tests/api/test_authentication.py",
    # the credential cache on a clock the test moves (freshness, bound, a remembered
    # row's expiry), and a revocation seen by another server process
    "tests/api/test_credential_cache.py",
    "tests/authz/test_tls_documents.py",  # certificate-bound credentials, over TLS
    "tests/cli/test_cli.py",
    # what `dibao token issue` refuses and prints: principal, lifetime, fields,
    # department, the role's longest lifetime, the token's bits and the id's length
    "tests/cli/test_token_issue.py",
)

TARGETS = (
    Target(
        "mask application",
        "policies/walk.py",
        MASK_APPLICATION_TESTS,
        _fns("apply_masks", "has_masks", "PlanNode", "analyse"),
        strict=True,
    ),
    Target("maskers", "policies/masking.py", MASK_TESTS, strict=True),
    Target(
        "policy walk",
        "policies/walk.py",
        WALK_TESTS,
        _fns("_Walker", "select_operation", "limit_error", "_named"),
    ),
    Target(
        "policy gate",
        "gateway/policy_gate.py",
        # the gate's span is the operator's view of its decisions: the tracing tests
        (*POLICY_TESTS, *MASK_TESTS, "tests/audit/test_tracing.py"),
        _fns("PolicyGate", "RequestGate"),
    ),
    Target(
        "policy engine",
        "policies/engine.py",
        # test_engine holds the edges the shipped policy never reaches (malformed scopes,
        # the CSV's comments, inheritance)
        (*POLICY_TESTS, "tests/authz/test_admin.py", "tests/policies/test_engine.py"),
    ),
    Target(
        "pipeline audit paths",
        "gateway/endpoint.py",
        PIPELINE_TESTS,
        _fns("_finish", "_append_alone", "_failure"),
        strict=True,
        postgres=True,
    ),
    Target(
        "audit record",
        "audit/record.py",
        ("tests/audit/test_audit_hygiene.py", *PIPELINE_TESTS),
        strict=True,
    ),
    Target(
        "audit chain: append",
        "audit/chain.py",
        APPEND_TESTS,
        _fns("_read_head", "entry_hash", "head_signature", "sign", "AuditChain"),
        strict=True,
        postgres=True,
    ),
    Target(
        "audit chain: group commit",
        "audit/group.py",
        # every read's entry goes through a batch: one entry per request, none
        # answered before its batch committed, a failed batch fails each caller (the
        # anchors and the error bodies are the endpoint's, not the batches')
        (
            "tests/audit/test_group_commit.py",
            "tests/api/test_pipeline_entries.py",
            "tests/audit/test_audit_log.py",
        ),
        strict=True,
    ),
    Target(
        "audit chain: verify and purge",
        "audit/chain.py",
        VERIFY_TESTS,
        _fns("signature_holds", "verify", "_anchors_hold", "_verify_chain", "purge", "_entries"),
    ),
    Target(
        "scoped reads: households",
        "store/households.py",
        HOUSEHOLD_TESTS,
        strict=True,
        # the compiled path's members statement has a PostgreSQL form of its own
        postgres=True,
    ),
    Target(
        "scoped reads: fast reader",
        "store/fastread.py",
        ("tests/store/test_fastread.py", *SCOPE_TESTS),
        strict=True,
        postgres=True,
    ),
    Target(
        "scoped reads: duplicates",
        "store/duplicates.py",
        ("tests/workflow/test_duplicates.py", "tests/api/test_region_scope_everywhere.py"),
        strict=True,
    ),
    Target(
        "scoped reads: timeliness",
        "store/timeliness.py",
        (
            "tests/workflow/test_standards_timeliness.py",
            "tests/workflow/test_deadlines.py",
            "tests/workflow/test_verification_overdue.py",
            "tests/api/test_region_scope_everywhere.py",
            # statistics: its figures against the households' own, and the kept
            # tallies it reads for a county or wider against the archive
            "tests/api/test_statistics_totals.py",
            "tests/workflow/test_tallies_maintained.py",
        ),
        strict=True,
    ),
    Target("credential checks: gateway", "gateway/auth.py", AUTH_TESTS),
    Target("credential checks: store", "store/credentials.py", AUTH_TESTS),
)


class RemoveCallStatement(Operator):  # type: ignore[misc]
    """Drops a call made for its effect: `await chain.append(tx, entry)` becomes `None`.

    Cosmic Ray has no statement deletion; this is the mutation behind "a branch
    stops writing its entry"."""

    def mutation_positions(self, node: Any) -> Iterator[tuple[Any, Any]]:
        if (
            node.type in ("atom_expr", "power")
            and node.parent is not None
            and node.parent.type == "simple_stmt"
            and node.children[-1].type == "trailer"
            and node.children[-1].children[0].value == "("
        ):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node: Any, index: int) -> Any:
        return parso.python.tree.Keyword("None", node.start_pos, node.get_first_leaf().prefix)

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return (Example("f(x)\n", "None\n"),)


plugins.OPERATOR_PROVIDERS["dibao"] = {"RemoveCallStatement": RemoveCallStatement}

# A small set that says something each: boundary and negation of comparisons,
# one swap per arithmetic operator, and/or, not, constants, loops, except clauses.
OPERATORS = (
    "core/ReplaceComparisonOperator_Eq_NotEq",
    "core/ReplaceComparisonOperator_NotEq_Eq",
    "core/ReplaceComparisonOperator_Lt_LtE",
    "core/ReplaceComparisonOperator_Lt_GtE",
    "core/ReplaceComparisonOperator_LtE_Lt",
    "core/ReplaceComparisonOperator_LtE_Gt",
    "core/ReplaceComparisonOperator_Gt_GtE",
    "core/ReplaceComparisonOperator_Gt_LtE",
    "core/ReplaceComparisonOperator_GtE_Gt",
    "core/ReplaceComparisonOperator_GtE_Lt",
    "core/ReplaceComparisonOperator_Is_IsNot",
    "core/ReplaceComparisonOperator_IsNot_Is",
    "core/ReplaceBinaryOperator_Add_Sub",
    "core/ReplaceBinaryOperator_Sub_Add",
    "core/ReplaceBinaryOperator_Mul_Add",
    "core/ReplaceBinaryOperator_Div_Mul",
    "core/ReplaceBinaryOperator_FloorDiv_Mul",
    "core/ReplaceBinaryOperator_Mod_FloorDiv",
    "core/ReplaceBinaryOperator_BitOr_BitAnd",
    "core/ReplaceBinaryOperator_BitAnd_BitOr",
    "core/ReplaceUnaryOperator_Delete_Not",
    "core/ReplaceUnaryOperator_USub_UAdd",
    "core/AddNot",
    "core/ReplaceTrueWithFalse",
    "core/ReplaceFalseWithTrue",
    "core/ReplaceAndWithOr",
    "core/ReplaceOrWithAnd",
    "core/ReplaceBreakWithContinue",
    "core/ReplaceContinueWithBreak",
    "core/ZeroIterationForLoop",
    "core/NumberReplacer",
    "core/ExceptionReplacer",
    "dibao/RemoveCallStatement",
)


# --- where a mutation may go ------------------------------------------------------


def _char_col(lines: list[str], lineno: int, byte_col: int) -> int:
    return len(lines[lineno - 1].encode()[:byte_col].decode(errors="ignore"))


class _Places:
    """Line ranges of the selected functions, and the spans of annotations and
    docstrings (text that never runs: a mutant there is no mutant)."""

    def __init__(self, source: str, functions: frozenset[str]) -> None:
        self.lines = source.splitlines()
        tree = ast.parse(source)
        self.ranges: list[tuple[int, int]] = []
        self.inert: list[tuple[tuple[int, int], tuple[int, int]]] = []
        for node in ast.walk(tree):
            definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            if isinstance(node, definition) and node.name in functions:
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                self.ranges.append((start, node.end_lineno or node.lineno))
            annotations: list[ast.expr | None] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                annotations.append(node.returns)
            elif isinstance(node, ast.arg | ast.AnnAssign):
                annotations.append(node.annotation)
            for annotation in annotations:
                if annotation is not None:
                    self.inert.append(self._span(annotation))
        self.everywhere = not functions

    def _span(self, node: ast.expr) -> tuple[tuple[int, int], tuple[int, int]]:
        end_line = node.end_lineno or node.lineno
        return (
            (node.lineno, _char_col(self.lines, node.lineno, node.col_offset)),
            (end_line, _char_col(self.lines, end_line, node.end_col_offset or 0)),
        )

    def allows(self, start: tuple[int, int]) -> bool:
        if any(lo <= start <= hi for lo, hi in self.inert):
            return False
        return self.everywhere or any(lo <= start[0] <= hi for lo, hi in self.ranges)


def _work_items(target: Target) -> Iterator[WorkItem]:
    path = ROOT / target.module
    places = _Places(path.read_text(encoding="utf-8"), target.functions)
    # a mutant that is no program (see Mutants.invalid) is not made at all
    known = Mutants(path.read_text(encoding="utf-8"))
    module_ast = get_ast_from_path(path)
    for operator_name in OPERATORS:
        operator = plugins.get_operator(operator_name)()
        positions = (
            (node, start, end)
            for node in ast_nodes(module_ast)
            for start, end in operator.mutation_positions(node)
        )
        # occurrences count over the whole file, as the operator applies them
        for occurrence, (_node, start, end) in enumerate(positions):
            if places.allows(start) and known.invalid(operator_name, occurrence) is None:
                spec = MutationSpec(
                    module_path=target.module,
                    operator_name=operator_name,
                    occurrence=occurrence,
                    start_pos=start,
                    end_pos=end,
                )
                yield WorkItem.single(uuid.uuid4().hex, spec)


# --- equivalents ------------------------------------------------------------------


@dataclass(frozen=True)
class Equivalent:
    """One line of tests/mutation-equivalents.txt (its header gives the format)."""

    module: str
    operator: str
    line: str  # the source line, stripped
    mutant: str | None  # the line after the mutation, stripped; None: the line's only one
    nth: int | None  # which of several identical mutants of the module, from 1
    reason: str


def load_equivalents(path: Path = EQUIVALENTS) -> list[Equivalent]:
    """`module | operator | source line | [mutated line |] reason`, one a line."""
    found: list[Equivalent] = []
    if not path.exists():
        return found
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in raw.split(" | ")]
        if len(parts) not in (4, 5) or not all(parts):
            sys.exit(f"{path}: want 'module | operator | line | [mutant |] reason': {raw!r}")
        mutant, nth = None, None
        if len(parts) == 5:
            mutant = parts[3]
            # `#2 if tx is None:`: the second of identical mutants (a mutated line
            # never starts with a comment)
            if mutant.startswith("#"):
                number, _, mutant = mutant[1:].partition(" ")
                nth = int(number)
        found.append(Equivalent(parts[0], parts[1], parts[2], mutant, nth, parts[-1]))
    return found


def _same(a: str, b: str) -> bool:
    # operators respace what they write (NumberReplacer's `order[ 0:]`): whitespace
    # never tells two mutants of one line apart
    return "".join(a.split()) == "".join(b.split())


@dataclass(frozen=True)
class Mutant:
    occurrence: int
    line: str  # the source line, stripped
    mutant: str  # the same line after the mutation, stripped


class Mutants:
    """The mutants a module has, each named by its line before and after the
    mutation: what an equivalent entry must name when one line has several."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines()
        self.places = _Places(source, frozenset())
        self._of: dict[str, list[tuple[int, int]]] = {}
        self._on: dict[tuple[str, str], list[Mutant]] = {}

    def _positions(self, operator_name: str) -> list[tuple[int, int]]:
        """(occurrence, line number) of every mutant of the operator, in file order."""
        if operator_name not in self._of:
            operator = plugins.get_operator(operator_name)()
            starts = (
                start
                for node in ast_nodes(get_ast(self.source))
                for start, _ in operator.mutation_positions(node)
            )
            self._of[operator_name] = [
                (occurrence, start[0])
                for occurrence, start in enumerate(starts)
                if self.places.allows(start)
            ]
        return self._of[operator_name]

    def on_line(self, operator_name: str, line: str) -> list[Mutant]:
        """The operator's mutants on every line of the module that reads `line`."""
        if (operator_name, line) not in self._on:
            operator = plugins.get_operator(operator_name)()
            found = []
            for occurrence, lineno in self._positions(operator_name):
                if self.lines[lineno - 1].strip() == line:
                    try:
                        mutated = mutate_code(self.source, operator, occurrence)
                    except Exception:  # Cosmic Ray cannot make it (an except's tuple)
                        mutated = None
                    after = mutated.splitlines()[lineno - 1].strip() if mutated else ""
                    found.append(Mutant(occurrence, line, after))
            self._on[operator_name, line] = found
        return self._on[operator_name, line]

    def invalid(self, operator_name: str, occurrence: int) -> str | None:
        """Why the mutant is no program, or None: Cosmic Ray's `*` → `+` also rewrites
        the `*` of a keyword-only parameter list, a syntax error that every test
        "kills" by failing to import; counted as a kill it would be one no test made."""
        operator = plugins.get_operator(operator_name)()
        try:
            mutated = mutate_code(self.source, operator, occurrence)
        except Exception as exc:  # Cosmic Ray cannot make it (an except's tuple)
            return f"cannot be made: {type(exc).__name__}"
        if mutated is None:
            return "cannot be made"
        try:
            compile(mutated, "<mutant>", "exec")
        except SyntaxError as exc:
            return f"does not compile: {exc.msg} (line {exc.lineno})"
        return None

    def equivalent(
        self, entries: list[Equivalent], module: str, operator_name: str, occurrence: int
    ) -> tuple[str | None, bool]:
        """(the reason the mutant is equivalent or None, whether an entry names its
        line without telling it from the line's other mutants)."""
        candidates = [e for e in entries if e.module == module and e.operator == operator_name]
        lineno = dict(self._positions(operator_name)).get(occurrence)
        if not candidates or lineno is None:
            return None, False
        line = self.lines[lineno - 1].strip()
        candidates = [e for e in candidates if e.line == line]
        if not candidates:
            return None, False
        siblings = self.on_line(operator_name, line)
        this = next(m for m in siblings if m.occurrence == occurrence)
        twins = [m for m in siblings if _same(m.mutant, this.mutant)]
        for entry in candidates:
            if entry.mutant is None:
                # an entry without the mutant holds only for a line's only mutant
                if len(siblings) == 1:
                    return entry.reason, False
            elif _same(entry.mutant, this.mutant):
                if entry.nth is None and len(twins) == 1:
                    return entry.reason, False
                if entry.nth is not None and twins.index(this) + 1 == entry.nth:
                    return entry.reason, False
        return None, True


# --- running ----------------------------------------------------------------------


def pytest_command(target: Target, tests: Iterable[str] | None = None) -> str:
    selection = "" if target.postgres else ' -k "not postgres"'
    chosen = target.tests if tests is None else tests
    return (
        f"{sys.executable} -m pytest -x -q -p no:cacheprovider --no-header"
        f"{selection} {' '.join(shlex.quote(t) for t in chosen)}"
    )


class LineTests:
    """Which of the row's tests run each line of the module, from one traced pass.

    A mutant changes nothing a test does not run, so it first runs against the
    tests that run its lines; only if it survives them does it run against the
    whole row. A kill is still a real test failing, a survivor still survived
    every test of the row: the selection changes how long a run takes, never its
    result. Lines no test runs in this process (run at import, or only in a
    server process a test starts) select the whole row."""

    def __init__(self, by_line: dict[int, list[str]], seconds: dict[str, float]) -> None:
        self.by_line = by_line
        # with -x the first failing test ends the run: the quickest tests go first
        self.seconds = seconds

    @classmethod
    def trace(cls, target: Target, timeout: float) -> tuple[LineTests, TestOutcome, str]:
        SESSIONS.mkdir(exist_ok=True)
        data = SESSIONS / f"trace-{uuid.uuid4().hex}"
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            # the plugin, and the sitecustomize that traces every Python process
            "PYTHONPATH": os.pathsep.join(
                p
                for p in (
                    str(ROOT / "bench"),
                    str(ROOT / "bench" / "mutate_site"),
                    os.environ.get("PYTHONPATH"),
                )
                if p
            ),
            "DIBAO_MUTATE_TRACE": str(data),
            "DIBAO_MUTATE_MODULE": str(ROOT / target.module),
        }
        command = [*shlex.split(pytest_command(target)), "-p", "mutate_trace"]
        try:
            done = subprocess.run(  # noqa: S603 (our own pytest, the row's tests)
                command, env=env, capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return cls({}, {}), TestOutcome.KILLED, "timeout"
        output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        outcome = TestOutcome.SURVIVED if done.returncode == 0 else TestOutcome.KILLED
        found: dict[int, set[str]] = defaultdict(set)
        # one data file per process: pytest's and each one a test started
        for path in data.parent.glob(f"{data.name}.*"):
            if path.suffix == ".json":
                continue
            recorded = CoverageData(str(path))
            recorded.read()
            for measured in recorded.measured_files():
                if Path(measured).resolve() == (ROOT / target.module).resolve():
                    for line, contexts in recorded.contexts_by_lineno(measured).items():
                        found[line].update(contexts)
            path.unlink()
        by_line = {line: sorted(contexts) for line, contexts in found.items()}
        seconds: dict[str, float] = {}
        timed = Path(f"{data}.durations.json")
        if timed.exists():
            seconds = json.loads(timed.read_text(encoding="utf-8"))
            timed.unlink()
        return cls(by_line, seconds), outcome, output

    def tests_for(self, spec: MutationSpec) -> list[str] | None:
        """The node ids that run the mutant's lines; None for the whole row."""
        chosen: set[str] = set()
        for line in range(spec.start_pos[0], spec.end_pos[0] + 1):
            contexts = self.by_line.get(line)
            if contexts is None:
                continue  # not a statement's line (a continuation, a comment)
            if "" in contexts:
                return None
            chosen.update(contexts)
        return sorted(chosen, key=lambda t: (self.seconds.get(t, 0.0), t)) or None


def session_path(target: Target) -> Path:
    # keyed by what makes the mutants (the module's text, the functions, the
    # operators), not by the tests: a test added to a row keeps its results, and
    # `--retest-survivors` runs the survivors with it (see _keep_session)
    text = (ROOT / target.module).read_bytes()
    mutants = (target.name, target.module, sorted(target.functions), target.postgres, OPERATORS)
    key = hashlib.sha256(
        text + repr(mutants).encode() + RemoveCallStatement.__doc__.encode()  # type: ignore[union-attr]
    ).hexdigest()[:12]
    slug = "".join(c if c.isalnum() else "-" for c in target.name)
    return SESSIONS / f"{slug}-{key}.sqlite"


def _keep_session(target: Target, path: Path) -> None:
    """A kill counts only while its tests stay in the row: when a test left the
    selection since the results were kept, they are thrown away and run again."""
    tests = path.with_suffix(".tests")
    if path.exists() and (
        not tests.exists() or not set(tests.read_text().split()) <= set(target.tests)
    ):
        path.unlink()
    tests.write_text("\n".join(target.tests) + "\n")


def _run_pytest(command: str, timeout: float) -> tuple[TestOutcome, str]:
    """Cosmic Ray's run_tests, with stderr in the output (pytest's usage errors and
    INTERNALERRORs go there) and pytest's exit status kept in _exit_status."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(  # noqa: S603 (our own pytest, the row's tests)
        shlex.split(command),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        _exit_status[0] = None
        return TestOutcome.KILLED, "timeout"
    _exit_status[0] = proc.returncode
    text = out.decode("utf-8", errors="replace")
    return (TestOutcome.SURVIVED if proc.returncode == 0 else TestOutcome.KILLED), text


_exit_status: list[int | None] = [None]
# mutate_and_test calls the module's run_tests by name
cosmic_ray.mutating.run_tests = _run_pytest


def _forget_bytecode(module: str) -> None:
    # a mutant of the same size written in the same second as a cached .pyc would
    # otherwise run as the original; the test runs write no bytecode
    path = ROOT / module
    for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        pyc.unlink()


def run_mutant(
    item: WorkItem,
    target: Target,
    lines: LineTests,
    timeout: float,
    listed: list[Equivalent],
    known: Mutants,
    passes: dict[tuple[str, ...], bool],
) -> tuple[WorkResult, str]:
    """One mutant: first the tests that run its lines, then, if it survives them or
    they prove nothing, the whole row. Returns Cosmic Ray's result and how it ran.

    A selection's failure is a kill only if the same selection passes without the
    mutant (run once per selection, kept in `passes`): a test that fails or hangs
    alone (it needs an earlier test's state, or the quickest-first order), a node id the
    run cannot find again (pytest's exit 4) or a selection `-k` deselects whole
    (exit 5) fails with or without the mutant, and would be a kill no test made."""
    spec = item.mutations[0]
    chosen = lines.tests_for(spec)
    if chosen is None:
        return mutate_and_test(item.mutations, pytest_command(target), timeout), "whole row"
    ran = f"{len(chosen)} tests"
    command = pytest_command(target, chosen)
    result = mutate_and_test(item.mutations, command, timeout)
    reason, _ = known.equivalent(
        listed, spec.module_path.as_posix(), spec.operator_name, spec.occurrence
    )
    if result.test_outcome == TestOutcome.SURVIVED and reason is not None:
        # listed as equivalent: it counts as such once it survives, and
        # the whole row could only have turned it into a kill, so skipping
        # it never improves the figures (it saves a whole pass a mutant)
        return result, ran + ", listed equivalent"
    if result.test_outcome == TestOutcome.SURVIVED:
        # survived the tests that run its lines: the whole row decides
        ran += ", then the whole row"
    elif result.test_outcome == TestOutcome.KILLED:
        # a timeout too: a test that waits for an earlier test's state waits alone
        key = tuple(chosen)
        if key not in passes:
            # the module is restored on disk between mutants: this is the original
            outcome, _ = _run_pytest(command, timeout)
            passes[key] = outcome == TestOutcome.SURVIVED
        if passes[key]:
            return result, ran
        ran += " (which fail without the mutant too), then the whole row"
    else:
        return result, ran
    return mutate_and_test(item.mutations, pytest_command(target), timeout), ran


def run_target(target: Target, *, limit: int | None, retest: bool, log: Any) -> None:
    SESSIONS.mkdir(exist_ok=True)
    _forget_bytecode(target.module)
    path = session_path(target)
    _keep_session(target, path)
    with use_db(str(path), WorkDB.Mode.create) as db:
        if db.num_work_items == 0:
            db.add_work_items(_work_items(target))
        pending = list(db.pending_work_items)
        if retest:
            # a timeout on a loaded machine may be a slow survivor: it runs again too
            survivors = [
                item
                for item, result in db.completed_work_items
                if result.test_outcome == TestOutcome.SURVIVED or result.output == "timeout"
            ]
            pending = survivors + pending
        if not pending:
            return
        # the baseline pass is also the traced one: it says which tests run which line
        started = time.monotonic()
        lines, outcome, output = LineTests.trace(target, 1800)
        baseline = time.monotonic() - started
        if outcome != TestOutcome.SURVIVED:
            sys.exit(f"{target.name}: the tests fail without any mutant:\n{output[-3000:]}")
        # generous: two cores shared by several runs make a test run's time vary
        # threefold, and a timeout counts as a kill
        timeout = max(120.0, 5 * baseline)
        listed = load_equivalents()
        known = Mutants((ROOT / target.module).read_text(encoding="utf-8"))
        print(
            f"{target.name}: {len(pending)} mutants to run, baseline {baseline:.1f}s"
            f" (traced), {len(lines.by_line)} lines run by its tests",
            file=log,
            flush=True,
        )
        passes: dict[tuple[str, ...], bool] = {}
        for n, item in enumerate(pending if limit is None else pending[:limit], 1):
            spec = item.mutations[0]
            invalid = known.invalid(spec.operator_name, spec.occurrence)
            if invalid is not None:
                # kept from before such mutants were left out (_work_items): no program
                result = WorkResult(worker_outcome=WorkerOutcome.EXCEPTION, output=invalid)
                db.set_result(item.job_id, result)
                print(f"  [{n}] {invalid}", file=log, flush=True)
                continue
            result, ran = run_mutant(item, target, lines, timeout, listed, known, passes)
            if result.test_outcome == TestOutcome.INCOMPETENT:
                # the test command could not be started: no test ran, and the report
                # would count it a kill; it stays pending, for the next run
                print(f"  [{n}] tests not started: {result.output}", file=log, flush=True)
                continue
            db.set_result(item.job_id, result)
            print(
                f"  [{n}] {spec.module_path}:{spec.start_pos[0]} {spec.operator_name}"
                f" ({ran}) -> {result.test_outcome.value if result.test_outcome else 'n/a'}",
                file=log,
                flush=True,
            )


def _line(module: str, lineno: int) -> str:
    return (ROOT / module).read_text(encoding="utf-8").splitlines()[lineno - 1].strip()


def report(target: Target, equivalents: list[Equivalent]) -> dict[str, Any]:
    path = session_path(target)
    mutants = Mutants((ROOT / target.module).read_text(encoding="utf-8"))
    counts = {"mutants": 0, "killed": 0, "timeouts": 0, "survived": 0, "equivalent": 0}
    survivors: list[dict[str, Any]] = []
    equivalent: list[dict[str, str]] = []
    # Cosmic Ray records a mutant it could not make (an operator failing on the
    # code, such as a dotted name in an except tuple) with an outcome other than
    # "survived": counted as a kill it would be a kill no test made
    unmade: list[dict[str, str]] = []
    pending = 0
    if path.exists():
        with use_db(str(path), WorkDB.Mode.open) as db:
            pending = db.num_work_items - db.num_results
            for item, result in db.completed_work_items:
                if result.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                    continue
                spec = item.mutations[0]
                line = _line(spec.module_path.as_posix(), spec.start_pos[0])
                where = f"{spec.module_path.as_posix()}:{spec.start_pos[0]}"
                invalid = mutants.invalid(spec.operator_name, spec.occurrence)
                if result.worker_outcome == WorkerOutcome.EXCEPTION or invalid is not None:
                    reason = (result.output or "").strip().splitlines() or ["no output"]
                    unmade.append(
                        {
                            "location": where,
                            "mutation": spec.operator_name,
                            "error": invalid or reason[-1],
                        }
                    )
                    continue
                counts["mutants"] += 1
                if result.test_outcome != TestOutcome.SURVIVED:
                    counts["killed"] += 1
                    counts["timeouts"] += result.output == "timeout"
                    continue
                reason, unnamed = mutants.equivalent(
                    equivalents, spec.module_path.as_posix(), spec.operator_name, spec.occurrence
                )
                if reason is not None:
                    counts["equivalent"] += 1
                    equivalent.append(
                        {"location": where, "mutation": spec.operator_name, "reason": reason}
                    )
                    continue
                counts["survived"] += 1
                survivor = {
                    "location": where,
                    "mutation": spec.operator_name,
                    "line": line,
                    "diff": "\n".join(
                        d
                        for d in (result.diff or "").splitlines()
                        if d[:1] in "+-" and d[:3] not in ("+++", "---")
                    ),
                }
                if unnamed:
                    survivor["note"] = (
                        f"{EQUIVALENTS.name} lists this line but names another mutant of it,"
                        " or none where the line has several: name this one to excuse it"
                    )
                survivors.append(survivor)
    judged = counts["mutants"] - counts["equivalent"]
    rate = counts["killed"] / judged if judged else None
    goal = "no survivor" if target.strict else f">= {GOAL_REST:.0%} killed"
    # a target never run has met nothing
    met = (
        (counts["survived"] == 0 and judged > 0)
        if target.strict
        else (rate is not None and rate >= GOAL_REST)
    )
    return {
        "target": target.name,
        "module": target.module,
        "functions": sorted(target.functions) or "all",
        "tests": list(target.tests),
        "backends": ["sqlite", "postgres"] if target.postgres else ["sqlite"],
        **counts,
        "not_run": pending,
        "unmade": len(unmade),
        "kill_rate": round(rate, 4) if rate is not None else None,
        "goal": goal,
        "goal_met": met and pending == 0,
        "survivors": survivors,
        "equivalents": equivalent,
        "unmade_mutants": unmade,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--only", action="append", default=[], help="targets whose name or module contains this"
    )
    parser.add_argument(
        "--target", action="append", default=[], help="a target by its exact name (see --list)"
    )
    parser.add_argument(
        "--limit", type=int, help="at most this many mutants per target (development)"
    )
    parser.add_argument(
        "--retest-survivors", action="store_true", help="run survivors and timeouts again"
    )
    parser.add_argument("--report", action="store_true", help="print the figures; run nothing")
    parser.add_argument(
        "--list", action="store_true", help="count the mutants per target; run nothing"
    )
    args = parser.parse_args()
    os.chdir(ROOT)
    # a stop between mutating a file and restoring it must still restore it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    unknown = set(args.target) - {t.name for t in TARGETS}
    if unknown:
        parser.error(f"no target named {sorted(unknown)}; --list names them")
    targets = [
        t
        for t in TARGETS
        if (not args.only or any(o in t.name or o in t.module for o in args.only))
        and (not args.target or t.name in args.target)
    ]
    if args.list:
        print(json.dumps({t.name: sum(1 for _ in _work_items(t)) for t in targets}, indent=2))
        return 0
    if not args.report:
        for target in targets:
            run_target(target, limit=args.limit, retest=args.retest_survivors, log=sys.stderr)
    equivalents = load_equivalents()
    reports = [report(t, equivalents) for t in targets]
    total = {
        k: sum(r[k] for r in reports)
        for k in ("mutants", "killed", "timeouts", "survived", "equivalent", "not_run", "unmade")
    }
    judged = total["mutants"] - total["equivalent"]
    total["kill_rate"] = round(total["killed"] / judged, 4) if judged else None
    print(json.dumps({"total": total, "targets": reports}, indent=2, ensure_ascii=False))
    return 0 if all(r["goal_met"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
