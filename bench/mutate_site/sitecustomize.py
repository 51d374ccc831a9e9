"""Coverage in every Python process of bench/mutate.py's traced pass, not only pytest's.

This directory is on PYTHONPATH only for that pass: Python imports `sitecustomize`
at start-up, so the CLI commands and servers a test starts record the lines they
run too, under the node id of the test that started them (DIBAO_MUTATE_CONTEXT,
which the pytest plugin sets for each test; a child inherits it). Without this a
line run only in a server process selected the whole row for each of its mutants.
Each process writes its own data file (data_suffix), read together afterwards; a
process killed before it exits loses its lines, which then select the whole row.
"""

from __future__ import annotations

import atexit
import os

if os.environ.get("DIBAO_MUTATE_TRACE"):
    import coverage

    _coverage = coverage.Coverage(
        data_file=os.environ["DIBAO_MUTATE_TRACE"],
        data_suffix=True,
        include=[os.environ["DIBAO_MUTATE_MODULE"]],
        context=os.environ.get("DIBAO_MUTATE_CONTEXT") or None,
        config_file=False,
    )
    _coverage.start()

    def _save() -> None:
        _coverage.stop()
        _coverage.save()

    atexit.register(_save)
