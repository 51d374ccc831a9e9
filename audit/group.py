"""Group commit of the audit entries of concurrent requests.

Every read used to commit its own entry: a WAL flush and a wait on the single
chain-head row per request, so concurrent reads queued on one row. Here the
entries that arrive while a batch is being written wait for it to finish and
then go in together, in one statement (PostgreSQL) or one transaction (SQLite),
and one commit. A batch closes at `max_entries`, or one turn of the event loop
(plus `window`, WINDOW_S by default) after the batch before it committed: under load
the entries that arrived during one commit make the next batch, and an idle
server writes a lone entry at once, without waiting for company.

Each caller waits for the commit of the batch holding its entry, so nothing is
answered before its entry is durable. A batch that fails fails every caller in
it (none of its entries was written: the batch is one statement or one
transaction), and each then answers without data, as a failed single append
did. A mutation's entry does not come here: it is written in the mutation's
own transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from audit.chain import AuditChain
from store.fastread import Reads

Connection = AsyncSession | AsyncConnection | Reads
MAX_ENTRIES = 256  # bounds one statement's size (and one failure's reach)
WINDOW_S = 0.0  # how long a batch stays open for more entries beyond one loop turn


class GroupCommit:
    """Collects entries from concurrent requests; `append` returns once its own
    entry has committed, with its sequence number."""

    def __init__(
        self,
        chain: AuditChain,
        connect: Callable[[], AbstractAsyncContextManager[Connection]],
        *,
        max_entries: int = MAX_ENTRIES,
        window: float | None = None,
        observe: Callable[[float, int], None] | None = None,
    ) -> None:
        self.chain = chain
        # told each committed batch's seconds and size (the metrics' audit append)
        self._observe = observe
        self._connect = connect
        self.max_entries = max_entries
        self._window = window  # None: the module's setting, read per batch
        self._pending: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, entry: dict[str, Any]) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        while self._pending:
            # let the requests already on their way join: those that finished their
            # work in this turn of the loop (and, with a window, for that long)
            await asyncio.sleep(WINDOW_S if self._window is None else self._window)
            batch = self._pending[: self.max_entries]
            del self._pending[: self.max_entries]
            try:
                started = time.perf_counter()
                async with self._connect() as conn:
                    seqs = await self.chain.append_batch(conn, [entry for entry, _ in batch])
            except Exception as exc:  # nothing of the batch was written: each caller fails
                self.chain.forget_head()
                for _, future in batch:
                    if not future.done():  # a caller gone (cancelled) needs no answer
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled at shutdown: no caller may wait forever
                self.chain.forget_head()
                for _, future in [*batch, *self._pending]:
                    future.cancel()
                self._pending.clear()
                raise
            if self._observe is not None:
                self._observe(time.perf_counter() - started, len(batch))
            for seq, (_, future) in zip(seqs, batch, strict=True):
                if not future.done():
                    future.set_result(seq)
