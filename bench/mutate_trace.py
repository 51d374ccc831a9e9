"""A pytest plugin for bench/mutate.py: which test runs which line of the mutated module.

Loaded with `-p mutate_trace` in the traced pass, where bench/mutate_site's
sitecustomize has started coverage in this process and in every Python process
the tests start. Each line is recorded under the node id of the test that ran it
(setup, call and teardown alike), in this process by switching the context, in a
process a test starts through DIBAO_MUTATE_CONTEXT, which it inherits; lines run
outside any test (imports, collection) are recorded under the empty context. Each
test's time (setup, call, teardown) is written beside the data, as JSON: a
mutant's tests run quickest first.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import coverage
import pytest

_durations: defaultdict[str, float] = defaultdict(float)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    current = coverage.Coverage.current()
    os.environ["DIBAO_MUTATE_CONTEXT"] = item.nodeid
    if current is not None:
        current.switch_context(item.nodeid)
    yield
    os.environ.pop("DIBAO_MUTATE_CONTEXT", None)
    if current is not None:
        current.switch_context("")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[report.nodeid] += report.duration


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("DIBAO_MUTATE_TRACE"):
        durations = Path(os.environ["DIBAO_MUTATE_TRACE"] + ".durations.json")
        durations.write_text(json.dumps(_durations), encoding="utf-8")
