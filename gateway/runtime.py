"""Process-wide resources built from settings: engine, sessions, cipher, policy, tracing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from audit import alerts
from audit.anchors import AnchorWriter
from gateway import policy_sync
from gateway.config import Settings
from gateway.instruments import Meters, PoolUsage, Sources, otlp_configured
from gateway.quota import LookupQuotas
from gateway.ratelimit import RateLimiter
from gateway.tracing import instrument_engine, provider_from_env
from policies.engine import PolicyEngine
from policies.limits import Limits
from store.crypto import Cipher, load_or_create_keys
from store.db import create_engine, session_factory
from store.fastread import FastReader
from store.types import utcnow

log = logging.getLogger("dibao.runtime")
KEY_POLL_SECONDS = 1.0


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    cipher: Cipher
    tracer_provider: TracerProvider = field(default_factory=TracerProvider)
    meters: Meters = field(default_factory=Meters)
    limits: Limits = field(default_factory=Limits)
    # the time the workflow sees (notice periods, archiving); tests move it forward
    clock: Callable[[], dt.datetime] = utcnow
    policy: PolicyEngine | None = None
    _watcher: asyncio.Task[None] | None = None
    _reader: FastReader | None = None
    _key_watcher: asyncio.Task[None] | None = None
    _key_stamp: int | None = None
    _limiter: RateLimiter | None = None
    _anchors: AnchorWriter | None = None
    _anchor_ticker: asyncio.Task[None] | None = None
    _alert_ticker: asyncio.Task[None] | None = None
    _quotas: LookupQuotas | None = None

    @property
    def limiter(self) -> RateLimiter:
        """Token buckets per credential, process-wide."""
        if self._limiter is None:
            self._limiter = RateLimiter(dict(self.settings.rate_limits))
        return self._limiter

    @property
    def anchors(self) -> AnchorWriter:
        """Checkpoints of the audit chain outside the database, process-wide."""
        if self._anchors is None:
            self._anchors = AnchorWriter(
                self.cipher,
                path=self.settings.anchor_file,
                syslog=self.settings.anchor_syslog,
                every=self.settings.anchor_every,
                seconds=self.settings.anchor_seconds,
            )
        return self._anchors

    @property
    def quotas(self) -> LookupQuotas:
        """Lookup answers per credential, process-wide (gateway/quota.py says why)."""
        if self._quotas is None:
            self._quotas = LookupQuotas(dict(self.settings.lookup_quotas))
        return self._quotas

    @property
    def reader(self) -> FastReader:
        """Hot-path statements (authentication, compiled reads, read audit entries)."""
        if self._reader is None:
            tracer = trace.get_tracer("dibao.store", tracer_provider=self.tracer_provider)
            self._reader = FastReader(self.engine, tracer)
        return self._reader

    @classmethod
    def from_settings(cls, settings: Settings, *, traced: bool = False) -> Runtime:
        engine = create_engine(settings.database_url)
        provider = provider_from_env() if traced else TracerProvider()
        if traced:
            instrument_engine(engine, provider)
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            cipher=Cipher(load_or_create_keys(settings.key_file)),
            tracer_provider=provider,
            meters=Meters(otlp=traced and otlp_configured()),
        )

    async def start(self) -> None:
        """Load the policy from the database and keep it current; follow the key file."""
        self.meters.watch(
            Sources(
                pools=self.pool_usage,
                policy_version=lambda: self.policy.version if self.policy else None,
                anchor_age=lambda: self._anchors.age() if self._anchors else None,
            )
        )
        if self.policy is None:
            self.policy = await policy_sync.load_engine(self.sessions)
            self._watcher = asyncio.create_task(policy_sync.watch(self.policy, self.sessions))
        if self._key_watcher is None and self.settings.key_file.name:
            self._key_watcher = asyncio.create_task(self._watch_keys())
        if self._anchor_ticker is None and self.anchors.enabled:
            self._anchor_ticker = asyncio.create_task(self.anchors.run())
        if self._alert_ticker is None and self.settings.alert_seconds > 0:
            self._alert_ticker = asyncio.create_task(self._scan_alerts())

    async def scan_alerts(self) -> int:
        """Run the misuse rules over the entries written since the last scan."""
        return await alerts.scan(self.sessions, self.settings.calendar, self.clock())

    async def _scan_alerts(self) -> None:
        """The rules run within a minute of an entry (DIBAO_ALERT_SCAN_SECONDS)."""
        while True:
            await asyncio.sleep(self.settings.alert_seconds)
            try:
                await self.scan_alerts()
            except Exception as exc:  # a failed scan is retried from the same position
                log.warning("misuse alert scan failed (%s)", type(exc).__name__)

    def reload_keys(self) -> bool:
        """Take up a rotated key file; True when the ring changed."""
        path = self.settings.key_file
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return False
        if stamp == self._key_stamp:
            return False
        self._key_stamp = stamp
        ring = load_or_create_keys(path)
        if ring == self.cipher.keys:
            return False
        if ring.current_version < self.cipher.keys.current_version:
            log.warning("key file holds an older current version; keeping %s", ring.current_version)
            return False
        self.cipher.reload(ring)
        log.info("key ring reloaded: current version %s", ring.current_version)
        return True

    async def _watch_keys(self) -> None:
        """A rotation (dibao keys rotate) reaches this process within a second."""
        while True:
            await asyncio.sleep(KEY_POLL_SECONDS)
            try:
                self.reload_keys()
            except Exception:  # a half-written or unreadable file: keep the current ring
                log.warning(
                    "key file reload failed; keeping version %s", self.cipher.keys.current_version
                )

    def pool_usage(self) -> list[PoolUsage]:
        """Connections of both pools, as they are at this moment."""
        found = []
        pool = self.engine.pool
        if isinstance(pool, QueuePool):
            found.append(PoolUsage("main", pool.checkedout(), pool.checkedin()))
        reads = self._reader.pool_usage() if self._reader is not None else None
        if reads is not None:
            found.append(PoolUsage("reads", *reads))
        return found

    @property
    def policy_engine(self) -> PolicyEngine:
        if self.policy is None:
            raise RuntimeError("runtime not started: the policy is not loaded")
        return self.policy

    async def close(self) -> None:
        await policy_sync.stop(self._watcher)
        await policy_sync.stop(self._key_watcher)
        await policy_sync.stop(self._alert_ticker)
        self._watcher = self._key_watcher = self._alert_ticker = None
        if self._anchors is not None:  # the last committed entries, anchored at shutdown
            await self._anchors.stop(self._anchor_ticker)
            self._anchor_ticker = None
        if self._reader is not None:
            await self._reader.close()
        await self.engine.dispose()
        self.tracer_provider.force_flush()
        self.meters.flush()
