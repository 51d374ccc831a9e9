"""PostGraphile 4 (Node) on the benchmark's database, for comparison only.

Installed with npm into a cache directory outside the repository (nothing of it
is committed), started on loopback with GraphiQL and query logging off. It reads
the same tables; personal columns are ciphertext there, so it returns them as
encoded bytes where the project decrypts and masks. Its queries ask for the same
rows and the same number of values as the project's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("DIBAO_BENCH_CACHE", Path.home() / ".cache" / "dibao-bench"))
PACKAGE = "postgraphile@4"

PAGE = """query Page { allHouseholds(first: 50, orderBy: ARCHIVE_NO_ASC) {
  nodes { archiveNo villageCode area status
    membersByArchiveNo(condition: {active: true}, orderBy: POSITION_ASC) {
      nodes { relation nameEnc idNumberEnc } } } } }"""
PAGE_WIDE = """query PageWide { allHouseholds(first: 50, orderBy: ARCHIVE_NO_ASC) {
  nodes { archiveNo villageCode area status address monthlyBenefit reviewClass
    membersByArchiveNo(condition: {active: true}, orderBy: POSITION_ASC) {
      nodes { relation nameEnc idNumberEnc monthlyIncome } } } } }"""
POINT = """query Point($archiveNo: String!) { householdByArchiveNo(archiveNo: $archiveNo) {
  archiveNo villageCode area status address monthlyBenefit reviewClass
  membersByArchiveNo(condition: {active: true}, orderBy: POSITION_ASC) {
    nodes { relation nameEnc idNumberEnc monthlyIncome } } } }"""


def available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def install() -> Path:
    """The postgraphile CLI, installed once into the cache (npm registry)."""
    binary = CACHE / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 (fixed argv)
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],  # noqa: S607
            check=True,
            capture_output=True,
            timeout=600,
        )
    return binary


def start(binary: Path, database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """database_url: a libpq URL (postgres://...)."""
    handle = log.open("wb")
    return subprocess.Popen(  # noqa: S603 (fixed argv)
        [
            str(binary),
            "--connection",
            database_url,
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-query-log",
            "--disable-default-mutations",
            "--no-setof-functions-contain-nulls",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NODE_ENV": "production"},
    )
