"""Soak: mixed traffic against the real server for a long while; prints JSON.

    python bench/soak.py [--minutes 10] [--concurrency 32] [--households 20000]

One `dibao serve` (production settings) on a scratch PostgreSQL database; wrk
sends a mix of reads (partner and caseworker pages, point lookups, recipient
checks, audit pages) and submissions (fresh ID numbers) from 32 connections.
The server's resident memory is sampled every 10 s. Reports errors (must be 0),
latency percentiles, requests, and memory at start, end and peak; `ok` is false
when there were errors or memory kept growing (last third above the middle
third by more than 10%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # the benchmark's set-up helpers
import wrk_driver
from run import ADMIN, BIN, CASEWORKER_SCOPE, PARTNER_SCOPE, admin, free_port, issue, prepare

from store.crypto import KeyRing

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local mix = %(mix)s
local n = 0
__COMMON__
function init(args) errors = 0; first_error = ""; counter = tid * 10000000; n = tid end
function request()
  n = n + 1
  local item = mix[(n %% #mix) + 1]
  wrk.headers["Authorization"] = "Bearer " .. item[1]
  return wrk.format(nil, nil, nil, (item[2]:gsub("__ID__", id_number)))
end
function done(summary, latency, requests)
  local errs, first = gather(summary)
  io.write(string.format('{"requests": %%d, "seconds": %%.3f, "errors": %%d, "p50_ms": %%.2f, ' ..
    '"p99_ms": %%.2f, "max_ms": %%.2f, "first_error": %%q}\n', summary.requests,
    summary.duration / 1e6, errs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, first))
end
"""


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def lua_mix(tokens: dict[str, str], samples: dict[str, Any]) -> str:
    bodies = [
        ("partner", {"query": run.PARTNER_PAGE}),
        ("caseworker", {"query": run.CASEWORKER_PAGE}),
        ("caseworker", {"query": run.POINT, "variables": {"archiveNo": samples["archive_no"]}}),
        ("caseworker", {"query": run.POINT, "variables": {"archiveNo": samples["archive_no"]}}),
        ("partner", {"query": run.VERIFY, "variables": {"idNumber": samples["id_number"]}}),
        ("auditor", {"query": run.AUDIT}),
    ]
    application = json.loads(json.dumps(run.APPLICATION))
    for member in application["members"]:
        member["idNumber"] = "__ID__"
    bodies.append(("caseworker", {"query": run.SUBMIT, "variables": {"input": application}}))
    items = ", ".join(
        "{"
        + json.dumps(tokens[role])
        + ", "
        + json.dumps(json.dumps(body, ensure_ascii=True))
        + "}"
        for role, body in bodies
    )
    return "{" + items + "}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--households", type=int, default=20000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install wrk; `make soak` does it)")
    name = f"dibao_soak_{uuid.uuid4().hex[:8]}"
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    tmp = Path(tempfile.mkdtemp(prefix="dibao-soak-"))
    server: subprocess.Popen[bytes] | None = None
    created = False
    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        created = True
        key_file = tmp / "keys.json"
        key_file.write_bytes(KeyRing.generate().to_json())
        key_file.chmod(0o600)
        samples = asyncio.run(prepare(url, key_file, args.households, 1))
        env = {
            **os.environ,
            "DIBAO_DATABASE_URL": url,
            "DIBAO_KEY_FILE": str(key_file),
            "DIBAO_RATE_LIMITS": "default=1000000/1000000,partner=1000000/1000000",
            "DIBAO_LOOKUP_QUOTAS": "default=1000000/1000000,partner=1000000/1000000",
        }
        tokens = {
            "caseworker": issue(env, "soak-caseworker", "caseworker", CASEWORKER_SCOPE),
            "partner": issue(env, "soak-partner", "partner", PARTNER_SCOPE, run.PARTNER_FIELDS),
            "auditor": issue(env, "soak-auditor", "auditor", "*"),
        }
        port = free_port()
        server = run.start_server(
            [str(BIN / "dibao"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env,
            tmp / "server.log",
        )
        target = f"http://127.0.0.1:{port}/graphql"
        run.wait_ready(target, server)
        script = tmp / "soak.lua"
        lua = (LUA % {"mix": lua_mix(tokens, samples)}).replace("__COMMON__", wrk_driver.LUA_COMMON)
        script.write_text(lua, encoding="utf-8")

        memory: list[tuple[float, int]] = []
        stop = threading.Event()
        started = time.monotonic()

        def sample() -> None:
            while not stop.is_set():
                memory.append((round(time.monotonic() - started, 1), rss_kb(server.pid)))
                stop.wait(10)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        seconds = max(1, round(args.minutes * 60))
        out = subprocess.run(  # noqa: S603 (fixed argv, loopback)
            [  # noqa: S607 (wrk from PATH, checked above)
                "wrk",
                "-t2",
                f"-c{args.concurrency}",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                target,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 120,
        )
        stop.set()
        sampler.join()
        result = json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1])
        kb = [m for _, m in memory]
        third = max(1, len(kb) // 3)
        middle = sum(kb[third : 2 * third]) / max(1, len(kb[third : 2 * third]))
        last = sum(kb[-third:]) / third
        # too few samples (a run under a minute) says nothing about growth
        growing = len(kb) >= 6 and last > middle * 1.10
        report = {
            "minutes": args.minutes,
            "concurrency": args.concurrency,
            "households": args.households,
            "mix": "partner page, caseworker page, 2x point lookup, verifyRecipient, "
            "auditEvents page, submitApplication (round robin)",
            **result,
            "rps": round(result["requests"] / result["seconds"], 1),
            "rss_mb_start": round(kb[0] / 1024, 1) if kb else None,
            "rss_mb_end": round(kb[-1] / 1024, 1) if kb else None,
            "rss_mb_peak": round(max(kb) / 1024, 1) if kb else None,
            "rss_mb_series": [(t, round(m / 1024, 1)) for t, m in memory],
            "memory_growing": growing,
            "ok": result["errors"] == 0 and not growing,
        }
        print(json.dumps(report, indent=2))
        if not report["ok"]:
            sys.exit(1)
    finally:
        if server is not None:
            run.stop(server)
        if created:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
