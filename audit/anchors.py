"""Checkpoints of the audit chain kept where the database cannot reach.

The head row is signed, but whoever owns the database can put back a head it
once held (or the unsigned genesis head) and drop everything after it: what
remains is a whole chain. So every N entries or T seconds the newest
committed (seq, hash) is signed with the audit key and appended to a sink the
database cannot rewrite: an append-only file, and optionally syslog. Verifying
then asks that every anchored entry is still in the chain.

Several server processes may append to one file: each anchor is one line
written by one `write` on an O_APPEND descriptor, so lines do not interleave,
but they may arrive out of sequence order; nothing here depends on that order.

No fsync per anchor: the anchor is a witness against a later rewrite, not the
durable copy of anything, and an fsync on the event loop would stall every
request. The ticker fsyncs in a worker thread every T seconds, and closing
does too; a crash can lose the last few anchors (weaker evidence, never a
false alarm) or leave a torn last line, which reading reports but tolerates.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from logging.handlers import SysLogHandler
from pathlib import Path

import orjson

from store.crypto import Cipher, KeyRing

log = logging.getLogger("dibao.audit.anchors")
KIND = "dibao-audit-anchor"
SYSLOG_LOCAL = "local"
_FIELDS = ("seq", "hash", "time", "key_version", "signature")


def anchor_signature(key: bytes, seq: int, hash_: str, time_: str, key_version: int) -> str:
    # its own kind, so no head or purge-base signature can be passed off as an anchor
    message = f"anchor|{seq}|{hash_}|{time_}|{key_version}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: str
    time: str
    key_version: int
    signature: str
    line: int = 0  # where it was read from, for messages

    @classmethod
    def make(cls, keys: KeyRing, seq: int, hash_: str, now: dt.datetime) -> Anchor:
        version = keys.current_version
        stamp = now.astimezone(dt.UTC).isoformat()
        signature = anchor_signature(keys.audit_keys[version], seq, hash_, stamp, version)
        return cls(seq, hash_, stamp, version, signature)

    def to_line(self) -> bytes:
        body = {"kind": KIND, **{name: getattr(self, name) for name in _FIELDS}}
        return orjson.dumps(body) + b"\n"


@dataclass(frozen=True, slots=True)
class AnchorSet:
    """What an anchor file holds: anchors by sequence number, or why it cannot be trusted.
    Messages name lines, not the path: they reach API clients too."""

    path: Path
    by_seq: dict[int, Anchor] = field(default_factory=dict)
    missing: bool = False
    problem: str | None = None
    warning: str | None = None

    @property
    def newest(self) -> Anchor | None:
        return self.by_seq[max(self.by_seq)] if self.by_seq else None


def read_anchors(path: Path, keys: KeyRing) -> AnchorSet:
    """Every line must be a well-formed anchor signed under a key of the ring."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return AnchorSet(path, missing=True)
    except OSError as exc:
        return AnchorSet(path, problem=f"the anchor file cannot be read ({exc.strerror})")
    lines = raw.split(b"\n")
    torn = lines.pop()  # after the last newline: empty, unless a write was cut short
    by_seq: dict[int, Anchor] = {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        anchor = _parse(text, keys)
        if isinstance(anchor, str):
            return AnchorSet(path, problem=f"anchor file line {number}: {anchor}")
        seen = by_seq.get(anchor.seq)
        if seen is not None and seen.hash != anchor.hash:
            return AnchorSet(
                path,
                problem=f"anchor file line {number}: entry {anchor.seq} is anchored "
                f"with another hash on line {seen.line}",
            )
        by_seq[anchor.seq] = dataclasses.replace(anchor, line=number)
    warning = None
    if torn.strip():
        if not by_seq:
            # a torn last line is tolerated beside whole anchors, never instead of them:
            # a file cut to a fragment would otherwise read as "no anchor yet"
            return AnchorSet(
                path,
                problem=f"anchor file line {len(lines) + 1} is incomplete and no complete "
                "anchor precedes it: the file was cut short",
            )
        warning = f"anchor file line {len(lines) + 1} is incomplete (a write cut short); ignored"
    return AnchorSet(path, by_seq, warning=warning)


def _parse(text: bytes, keys: KeyRing) -> Anchor | str:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "not JSON"
    if not isinstance(data, dict) or data.get("kind") != KIND:
        return "not an audit anchor"
    seq, hash_, stamp = data.get("seq"), data.get("hash"), data.get("time")
    version, signature = data.get("key_version"), data.get("signature")
    if type(seq) is not int or seq < 1 or type(version) is not int:
        return "malformed anchor"
    if not (isinstance(hash_, str) and isinstance(stamp, str) and isinstance(signature, str)):
        return "malformed anchor"
    if len(hash_) != 64:
        return "malformed anchor"
    key = keys.audit_keys.get(version)
    if key is None:
        return f"signed with audit key version {version}, which the key ring does not hold"
    expected = anchor_signature(key, seq, hash_, stamp, version)
    if not hmac.compare_digest(expected, signature):
        return f"the signature of the anchor for entry {seq} does not hold (forged or altered)"
    return Anchor(seq, hash_, stamp, version, signature)


def syslog_handler(target: str) -> SysLogHandler:
    """`local` (the host's syslog socket), `/path/to/socket`, or `host:port` (UDP)."""
    if target == SYSLOG_LOCAL:
        address: str | tuple[str, int] = (
            "/dev/log" if Path("/dev/log").exists() else ("localhost", 514)
        )
    elif target.startswith("/"):
        address = target
    else:
        host, _, port = target.rpartition(":")
        address = (host or target, int(port) if host else 514)
    handler = SysLogHandler(
        address=address, facility=SysLogHandler.LOG_AUTHPRIV, socktype=socket.SOCK_DGRAM
    )
    handler.ident = f"{KIND}: "
    return handler


class AnchorWriter:
    """Anchors committed (seq, hash) pairs. Called on the event loop after each audit
    commit with what the process already knows: no database round trip, and at most
    one short append to a file when an anchor is due."""

    def __init__(
        self,
        keys: Cipher | KeyRing,
        *,
        path: Path | None,
        syslog: str | None = None,
        every: int = 1000,
        seconds: float = 10.0,
    ) -> None:
        self._source = keys
        self.path = path
        self._syslog_target = syslog
        self._syslog: SysLogHandler | None = None
        self.every = max(1, every)
        self.seconds = seconds
        self._fd: int | None = None
        self._latest: tuple[int, str] = (0, "")
        self._anchored = 0
        self._since = time.monotonic()
        self._unsynced = False
        self._failing = False
        self._stop = asyncio.Event()
        self._written_at: float | None = None  # monotonic time of the last anchor written

    @property
    def enabled(self) -> bool:
        return self.path is not None or self._syslog_target is not None

    def committed(self, seq: int, hash_: str) -> None:
        """An entry is committed: anchor the newest one when N entries or T seconds are due."""
        if seq > self._latest[0]:
            self._latest = (seq, hash_)
        due = self._latest[0] - self._anchored >= self.every
        if due or time.monotonic() - self._since >= self.seconds:
            self.flush()

    def flush(self) -> None:
        """Anchor the newest committed entry if it is not anchored yet."""
        seq, hash_ = self._latest
        if seq > self._anchored:
            self.anchor(seq, hash_)

    def anchor(self, seq: int, hash_: str) -> None:
        """Write one anchor now (the CLI's after a verification or purge)."""
        self._since = time.monotonic()
        if seq <= 0 or not self.enabled:
            return
        ring = self._source.keys if isinstance(self._source, Cipher) else self._source
        line = Anchor.make(ring, seq, hash_, dt.datetime.now(dt.UTC)).to_line()
        try:
            if self.path is not None:
                if self._fd is None:
                    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                    self._fd = os.open(self.path, flags, 0o600)
                os.write(self._fd, line)
                self._unsynced = True
            if self._syslog_target is not None:
                if self._syslog is None:
                    self._syslog = syslog_handler(self._syslog_target)
                self._syslog.emit(
                    logging.makeLogRecord({"msg": line.decode().rstrip(), "levelno": logging.INFO})
                )
        except Exception as exc:
            # the entry itself is committed, and its request must not turn into an error
            # now; a missed anchor only weakens the evidence, so say so loudly once and
            # try again with the next one
            if not self._failing:
                log.error("audit anchor not written (%s); retrying with the next", exc)
            self._failing = True
            return
        if self._failing:
            log.warning("audit anchors are written again")
        self._failing = False
        self._anchored = max(self._anchored, seq)
        self._written_at = time.monotonic()

    def age(self) -> float | None:
        """Seconds since the last anchor this writer wrote; None before the first.

        Growing without bound while entries are written means anchors fail (a full
        disk, a syslog gone): the evidence against a rewritten chain stops there."""
        return None if self._written_at is None else time.monotonic() - self._written_at

    async def run(self) -> None:
        """Every T seconds: anchor what is pending, and fsync off the event loop."""
        self._stop.clear()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.seconds)
            self.flush()
            await asyncio.to_thread(self.sync)

    def sync(self) -> None:
        fd = self._fd
        if fd is not None and self._unsynced:
            self._unsynced = False
            with contextlib.suppress(OSError):
                os.fsync(fd)

    async def stop(self, ticker: asyncio.Task[None] | None) -> None:
        """At shutdown: anchor the last committed entry, fsync, close."""
        self._stop.set()
        if ticker is not None:
            await ticker
        self.close()

    def close(self) -> None:
        self.flush()
        self.sync()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._syslog is not None:
            self._syslog.close()
            self._syslog = None
