"""A pytest plugin for bench/mutate.py: which test runs which line of the mutated module.

Loaded with `-p mutate_trace` when DIBAO_MUTATE_TRACE names a data file and
DIBAO_MUTATE_MODULE the module. Coverage starts as the plugin is imported, before
any test module, and records each line under the node id of the test that ran it
(setup, call and teardown alike); lines run outside any test (imports, collection)
are recorded under the empty context.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import coverage
import pytest

_coverage: coverage.Coverage | None = None
if os.environ.get("DIBAO_MUTATE_TRACE"):
    _coverage = coverage.Coverage(
        data_file=os.environ["DIBAO_MUTATE_TRACE"],
        include=[os.environ["DIBAO_MUTATE_MODULE"]],
        config_file=False,
    )
    _coverage.start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    if _coverage is not None:
        _coverage.switch_context(item.nodeid)
    yield
    if _coverage is not None:
        _coverage.switch_context("")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _coverage is not None:
        _coverage.stop()
        _coverage.save()
