"""A closed-loop HTTP load generator for one GraphQL operation; prints JSON.

    python bench/load.py --url http://127.0.0.1:8001/graphql --token T \
        --query-file q.json --concurrency 16 --seconds 10 [--warmup 2] [--fresh-ids BASE]

`--query-file` holds {"query": ..., "variables": {...}}. With `--fresh-ids BASE`
every request's `variables.input.members[*].idNumber` gets a new, valid ID number
(for submitApplication, which refuses an ID number already claimed); BASE keeps
separate runs apart. Only loopback URLs are accepted; every loop is bounded in
time and in count.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from domain.idnumber import make_id_number

ID_REGION = "110101"  # Beijing: no seeded household lives there, so no collision
ID_EPOCH = dt.date(1940, 1, 1)


class Ids:
    def __init__(self, base: int) -> None:
        self.counter = itertools.count(base)

    def next(self) -> str:
        n = next(self.counter)
        return make_id_number(ID_REGION, ID_EPOCH + dt.timedelta(days=n // 1000), n % 1000)


def body_for(template: dict[str, Any], ids: Ids | None) -> bytes:
    if ids is None:
        return json.dumps(template).encode()
    payload = copy.deepcopy(template)
    for member in payload["variables"]["input"]["members"]:
        member["idNumber"] = ids.next()
    return json.dumps(payload).encode()


def failed(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return True
    data = response.json()
    return bool(data.get("errors")) or not data.get("data")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host = urlsplit(args.url).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"refusing a non-loopback target: {host}")
    template = json.loads(Path(args.query_file).read_text(encoding="utf-8"))  # noqa: ASYNC240
    ids = Ids(args.fresh_ids) if args.fresh_ids is not None else None
    static = body_for(template, None) if ids is None else None
    headers = {"content-type": "application/json"}
    if args.token:
        headers["authorization"] = f"Bearer {args.token}"
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    sent = 0

    async with httpx.AsyncClient(
        limits=limits, timeout=30.0, http1=True, http2=False, headers=headers
    ) as client:

        async def worker(deadline: float, record: bool) -> None:
            nonlocal errors, first_error, sent
            while time.perf_counter() < deadline and sent < args.max_requests:
                sent += 1
                content = static if static is not None else body_for(template, ids)
                start = time.perf_counter()
                try:
                    response = await client.post(args.url, content=content)
                    bad = failed(response)
                    if bad and first_error is None and record:
                        first_error = response.text[:300]
                except httpx.HTTPError as exc:
                    bad = True
                    if first_error is None and record:
                        first_error = repr(exc)
                elapsed = (time.perf_counter() - start) * 1000
                if record:
                    latencies.append(elapsed)
                    errors += bad

        if args.warmup > 0:
            deadline = time.perf_counter() + args.warmup
            await asyncio.gather(*(worker(deadline, False) for _ in range(args.concurrency)))
        sent = 0
        started = time.perf_counter()
        deadline = started + args.seconds
        await asyncio.gather(*(worker(deadline, True) for _ in range(args.concurrency)))
        wall = time.perf_counter() - started

    ordered = sorted(latencies)

    def pct(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2)

    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(wall, 3),
        "rps": round(len(latencies) / wall, 1) if wall else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "first_error": first_error,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default=None)
    parser.add_argument("--query-file", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--fresh-ids", type=int, default=None)
    args = parser.parse_args()
    if not 0 < args.seconds <= 600 or not 0 <= args.warmup <= 60:
        raise SystemExit("--seconds must be in (0, 600] and --warmup in [0, 60]")
    print(json.dumps(asyncio.run(run(args))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
