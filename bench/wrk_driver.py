"""wrk as the load generator: one POST body per query, latency percentiles as JSON.

wrk (C, Debian package `wrk`) keeps the generator's own cost far below a Python
client's, which matters on a 2-core machine where the generator shares the CPU
with the servers. Errors are counted in Lua: a non-200 status or an `"errors"`
key in the body. For submitApplication every request carries two fresh, valid
ID numbers (GB 11643 check digit computed in Lua), so no request is refused as a
duplicate claim.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Shared by every wrk script here (this driver, bench/soak.py): thread registry,
# fresh valid ID numbers (GB 11643 check character), error counting, and the
# sum over threads. Plain Lua: inserted after the templates are %-formatted.
LUA_COMMON = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local weights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
local checks = "10X98765432"
local epoch = os.time{year = 1940, month = 1, day = 1, hour = 12}

function id_number()
  counter = counter + 1
  local day = math.floor(counter / 1000)
  local body = "110101" .. os.date("%Y%m%d", epoch + day * 86400)
    .. string.format("%03d", counter % 1000)
  local sum = 0
  for i = 1, 17 do sum = sum + tonumber(body:sub(i, i)) * weights[i] end
  local k = sum % 11 + 1
  return body .. checks:sub(k, k)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    if first_error == "" then first_error = status .. " " .. string.sub(body, 1, 200) end
  end
end

function gather(summary)
  local errs, first = 0, ""
  for _, t in ipairs(threads) do
    errs = errs + t:get("errors")
    if first == "" then first = t:get("first_error") end
  end
  local s = summary.errors
  return errs + s.connect + s.read + s.write + s.timeout, first
end
"""

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(auth)s
local template = %(body)s
local fresh = %(fresh)s
__COMMON__

function init(args)
  errors = 0
  first_error = ""
  -- fresh ID numbers: birth dates from 1940 on, one day per 1000 numbers; each
  -- run (and its warm-up) starts elsewhere, so no number is sent twice
  counter = (tonumber(args[1]) or %(base)d) + tid * 2000000
end

function request()
  if not fresh then return wrk.format(nil, nil, nil, template) end
  local body = template:gsub("__ID__", id_number)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errs, first = gather(summary)
  io.write(string.format(
    '{"requests": %%d, "seconds": %%.3f, "errors": %%d, "p50_us": %%d, "p95_us": %%d, ' ..
    '"p99_us": %%d, "first_error": %%q}\n',
    summary.requests, summary.duration / 1e6, errs,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), first))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def script(body: dict[str, Any], token: str | None, fresh_ids: int | None, path: Path) -> Path:
    text = json.dumps(body, ensure_ascii=True)
    if fresh_ids is not None:
        for member in body["variables"]["input"]["members"]:
            member["idNumber"] = "__ID__"
        text = json.dumps(body, ensure_ascii=True)
    auth = f'wrk.headers["Authorization"] = {_lua_string("Bearer " + token)}' if token else ""
    text_lua = LUA % {
        "auth": auth,
        "body": _lua_string(text),
        "fresh": "true" if fresh_ids is not None else "false",
        "base": fresh_ids or 0,
    }
    path.write_text(text_lua.replace("__COMMON__", LUA_COMMON), encoding="utf-8")
    return path


def run(
    url: str,
    lua: Path,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    threads: int = 1,
    base: int = 0,
    measured: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Warm up, then one measured run; the same shape as bench/load.py's output.
    `measured` is called between the two (to start the server's CPU clock)."""

    def once(duration: float, offset: int) -> dict[str, Any]:
        out = subprocess.run(  # noqa: S603 (fixed argv, loopback url checked by the caller)
            [  # noqa: S607 (wrk from PATH, checked by available())
                "wrk",
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "-s",
                str(lua),
                url,
                "--",
                str(base + offset),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 120,
        )
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1]
        parsed: dict[str, Any] = json.loads(line)
        return parsed

    if warmup > 0:
        once(warmup, 1_000_000)
    if measured is not None:
        measured()
    raw = once(seconds, 0)
    wall = raw["seconds"] or 1.0
    return {
        "requests": raw["requests"],
        "errors": raw["errors"],
        "seconds": raw["seconds"],
        "rps": round(raw["requests"] / wall, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "first_error": raw["first_error"] or None,
    }
