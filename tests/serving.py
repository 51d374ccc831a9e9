"""`dibao serve` as a real process for the tests that need one: a free port, the
test's own environment and folder, ready when `/readyz` says so, stopped after."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

DIBAO = Path(sys.executable).parent / "dibao"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def dibao_serve(
    env: Mapping[str, str], folder: Path, extra: Sequence[str] = ()
) -> AsyncIterator[str]:
    """The base URL of a ready server; its output goes to a log named in any failure."""
    port = free_port()
    log_path = folder / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(DIBAO), "serve", "--port", str(port), *extra],
            env=dict(env),
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            for _ in range(300):
                if process.poll() is not None:
                    pytest.fail(f"dibao serve exited early:\n{log_path.read_text()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"dibao serve did not become ready:\n{log_path.read_text()}")
        yield base
    finally:
        process.terminate()  # at shutdown the server writes its last audit summaries
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
