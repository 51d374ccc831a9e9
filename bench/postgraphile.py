"""PostGraphile 4 and 5 (Node) on the benchmark's database, for comparison only.

Each release is installed with npm into its own cache directory outside the
repository (nothing of it is committed) and started on loopback with its
GraphiQL and query logging off. Both read the same tables; personal columns are
ciphertext there, so they return them as encoded bytes where the project
decrypts and masks. Their queries ask for the same rows and the same number of
values as the project's.

The two releases are set up alike:
- PostGraphile 4 takes its defaults (any column may order and filter, mutations off);
- PostGraphile 5 runs the Amber preset (its recommended one) with
  PgIndexBehaviorsPlugin off, so that, as 4 by default, members may be ordered by
  their position (not an indexed column) and the same query text serves both.
PostGraphile 5 needs Node 22 or later; where the system's Node is older, npm's
`node@22` package (the official binary, from the npm registry) is installed into
the cache too, and both releases run on it, so that they share one runtime.
With several processes, both run under Node's own `cluster` module: 4 through its
`--cluster-workers`, 5 through a few lines that fork its CLI the same way; the
primary process hands out connections to the workers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("DIBAO_BENCH_CACHE", Path.home() / ".cache" / "dibao-bench"))
RELEASES = {4: ("postgraphile@4", CACHE), 5: ("postgraphile@5", CACHE / "v5")}
NODE_MAJOR = 22  # PostGraphile 5's `engines`

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

# PostGraphile 5's configuration: the Amber preset, indexes not consulted (as 4)
CONFIG_V5 = """import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
export default {
  extends: [PostGraphileAmberPreset],
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  grafast: { explain: false },
  grafserv: { graphiqlOnGraphQLGET: false },
};
"""
# Node's cluster module around PostGraphile 5's CLI (what 4's --cluster-workers does)
CLUSTER_V5 = """const cluster = require("node:cluster");
const workers = Number(process.env.DIBAO_BENCH_WORKERS || "1");
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", () => process.exit(1));
} else {
  // the package's exports hide its CLI: required by path, as npm's bin link runs it
  require(require("node:path").join(__dirname, "node_modules/postgraphile/dist/cli-run.js"));
}
"""


def available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def _npm_install(prefix: Path, package: str) -> None:
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 (fixed argv)
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), package],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=600,
    )


def install(release: int = 4) -> Path:
    """The release's postgraphile CLI, installed once into its cache (npm registry)."""
    package, prefix = RELEASES[release]
    binary = prefix / "node_modules" / ".bin" / "postgraphile"
    if not binary.exists():
        _npm_install(prefix, package)
    return binary


def node() -> str:
    """A Node of at least NODE_MAJOR: the system's, else npm's node package in the cache."""
    system = shutil.which("node") or "node"
    found = subprocess.run(  # noqa: S603 (fixed argv)
        [system, "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout.strip()
    if found.startswith("v") and int(found[1:].split(".")[0]) >= NODE_MAJOR:
        return system
    prefix = CACHE / f"node{NODE_MAJOR}"
    binary = prefix / "node_modules" / ".bin" / "node"
    if not binary.exists():
        _npm_install(prefix, f"node@{NODE_MAJOR}")
    return str(binary)


def version(binary: Path) -> str:
    """The installed release's exact version, for the report."""
    package = binary.parent.parent / "postgraphile" / "package.json"
    return str(json.loads(package.read_text(encoding="utf-8"))["version"])


def start(
    binary: Path, database_url: str, port: int, log: Path, *, release: int = 4, workers: int = 1
) -> subprocess.Popen[bytes]:
    """database_url: a libpq URL (postgres://...)."""
    handle = log.open("wb")
    env = {**os.environ, "NODE_ENV": "production", "GRAPHILE_ENV": "production"}
    runtime = node()
    if release == 4:
        argv = [
            runtime,
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
        ]
        if workers > 1:
            argv += ["--cluster-workers", str(workers)]
        cwd = None
    else:
        prefix = binary.parent.parent.parent
        (prefix / "graphile.config.mjs").write_text(CONFIG_V5, encoding="utf-8")
        (prefix / "cluster.cjs").write_text(CLUSTER_V5, encoding="utf-8")
        argv = [
            runtime,
            str(prefix / "cluster.cjs"),
            "--config",
            str(prefix / "graphile.config.mjs"),
            "--connection",
            database_url,
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        env["DIBAO_BENCH_WORKERS"] = str(workers)
        cwd = prefix  # the configuration's imports resolve from the install
    return subprocess.Popen(  # noqa: S603 (fixed argv)
        argv, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=cwd
    )
