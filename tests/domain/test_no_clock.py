"""The domain reads no clock: time is passed in (import-linter holds that it does no I/O).

A rule that reads the clock itself cannot be tested at a date of the test's choosing,
and two reads in one request can disagree at midnight. Every call in domain/ is
checked for the standard library's clocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
CLOCKS = {"now", "today", "utcnow", "time", "monotonic", "perf_counter", "time_ns"}


def clock_reads(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCKS
            and not node.args
        ):
            found.append(f"line {node.lineno}: .{node.func.attr}()")
    return found


def test_domain_reads_no_clock() -> None:
    reads = {
        path.name: found
        for path in sorted(DOMAIN.glob("*.py"))
        if (found := clock_reads(path.read_text(encoding="utf-8")))
    }
    assert not reads, reads


def test_the_check_sees_a_clock_read() -> None:
    assert clock_reads("import datetime\nx = datetime.date.today()\n") == ["line 2: .today()"]
    assert clock_reads("import time\nt = time.time()\n") == ["line 2: .time()"]
