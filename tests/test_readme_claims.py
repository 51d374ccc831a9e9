"""The README names the test that holds each of its claims: the names cannot go stale.

A name is `tests/….py` (a file) or `tests/….py::test_name` (a test in it); a bare
`::test_name` belongs to the nearest file named before it in the same section. Every
`##`/`###` section that promises behaviour names at least one test; the few that do not
are listed below with the reason."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# A file, optionally with a test; or a test of the file named last.
NAME = re.compile(r"(tests/[\w/]+\.py)(?:::(\w+))?|(?<![\w/.])::(\w+)")
HEADING = re.compile(r"^(##|###) (.+)$", re.MULTILINE)

# Sections that promise no behaviour of the service, and why.
EXEMPT = {
    "Layout": "the layers are held by import-linter's contracts (`make lint`), not by a test",
    "Tests": "describes how the suite itself runs (tests/conftest.py is the harness)",
    "Mutation testing": "reports the figures of `make mutate`, which checks its own targets",
}


def sections() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    heads = list(HEADING.finditer(text))
    return {
        head.group(2).strip(): text[head.end() : nxt.start() if nxt else len(text)]
        for head, nxt in zip(heads, [*heads[1:], None], strict=True)
    }


def names(body: str) -> list[tuple[str, str | None]]:
    """(file, test or None) for every name in a section, in order."""
    found: list[tuple[str, str | None]] = []
    last: str | None = None
    for match in NAME.finditer(body):
        path, test, bare = match.groups()
        if path is not None:
            last = path
            found.append((path, test))
        elif bare.startswith("test_"):
            assert last is not None, f"`::{bare}` follows no file name"
            found.append((last, bare))
    return found


def defined(path: str) -> set[str]:
    """The test functions and classes a file defines (top level and in classes)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


ALL = [(title, path, test) for title, body in sections().items() for path, test in names(body)]


def test_the_readme_names_tests() -> None:
    assert len(ALL) > 100, len(ALL)


@pytest.mark.parametrize(
    ("section", "path", "test"),
    ALL,
    ids=[f"{path}::{test}" if test else path for _, path, test in ALL],
)
def test_every_named_test_exists(section: str, path: str, test: str | None) -> None:
    assert (ROOT / path).is_file(), f"{section}: {path} does not exist"
    if test is not None:
        assert test in defined(path), f"{section}: {path} has no {test}"


def test_every_section_that_promises_behaviour_names_a_test() -> None:
    found = sections()
    assert set(EXEMPT) <= set(found), set(EXEMPT) - set(found)
    bare = [title for title, body in found.items() if title not in EXEMPT and not names(body)]
    assert bare == [], f"sections naming no test: {bare}"


def test_the_check_reads_names_as_they_are_written() -> None:
    body = "a (`tests/x/a.py::test_one`, `::test_two`) and `tests/y/b.py`, `::test_three`"
    assert names(body) == [
        ("tests/x/a.py", "test_one"),
        ("tests/x/a.py", "test_two"),
        ("tests/y/b.py", None),
        ("tests/y/b.py", "test_three"),
    ]
