"""OpenTelemetry metrics of the running process: what operations see of the service.

One MeterProvider per runtime, never installed globally (as with tracing), so
each app in a test has its own figures. Its readers: Prometheus, into a
registry of this runtime's own that `GET /metrics` renders (gateway/metrics.py),
and OTLP when an endpoint is configured by the standard OTEL_EXPORTER_OTLP_*
variables.

Labels carry only values from small fixed sets: role, outcome, operation type,
error code, and an operation name that passed `OperationNames`. Never a
principal, a credential, an archive number or any other value a caller sends:
a label is kept forever by whatever scrapes it, and each distinct value is a new
series, so a caller who could choose one could both leak data into the
monitoring system and exhaust its memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest

from audit import fields as F
from domain.enums import Role
from gateway.tracing import SERVICE_NAME

METER_NAME = "dibao"
MAX_OPERATION_NAMES = 100  # distinct names one process labels; later ones count as "other"
OTHER = "other"
NONE = "none"  # no validated operation (refused before it, or not GraphQL)
ANONYMOUS_OPERATION = "anonymous"  # a validated operation without a name
# a GraphQL name, short enough to be a name and not a payload
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# a run of digits this long may be part of an ID number, a phone or an account
_DIGITS = re.compile(r"[0-9]{5}")
OUTCOMES = frozenset(
    {
        F.ALLOWED,
        F.MASKED,
        F.DENIED,
        F.INVALID,
        F.TOO_COMPLEX,
        F.RATE_LIMITED,
        F.UNAUTHENTICATED,
        F.FAILED,
        F.REFUSED,
    }
)
REFUSALS = frozenset({F.DENIED, F.INVALID, F.TOO_COMPLEX, F.UNAUTHENTICATED, F.REFUSED})
ERROR_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "CONFLICT",
        "QUERY_TOO_COMPLEX",
        "RATE_LIMITED",
        "UNAVAILABLE",
        "INTERNAL",
    }
)
ROLES = frozenset(r.value for r in Role)
OPERATION_TYPES = frozenset({"query", "mutation", "subscription", "ide", F.OPERATION_DOWNLOAD})
# seconds; a request is a few milliseconds to a few seconds
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def safe_operation_name(name: str | None) -> str | None:
    """A validated operation's name when it cannot be carrying a person's data: a
    GraphQL name, at most 64 characters, without a long run of digits. Log lines use
    it as it is; metrics also bound how many there are (`OperationNames`)."""
    if name is None or not _NAME.fullmatch(name) or _DIGITS.search(name):
        return None
    return name


class OperationNames:
    """The operation label: the first MAX_OPERATION_NAMES distinct safe names of
    validated operations keep their own series, anything else is "other".

    A caller with a token can send a validated document under any name it makes
    up; without a bound, each request could open a new series."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self._known: set[str] = set()

    def label(self, name: str | None, *, validated: bool) -> str:
        if not validated:
            return NONE
        if name is None:
            return ANONYMOUS_OPERATION
        safe = safe_operation_name(name)
        if safe is None:
            return OTHER
        if safe not in self._known:
            if len(self._known) >= self.limit:
                return OTHER
            self._known.add(safe)
        return safe


@dataclass(frozen=True, slots=True)
class PoolUsage:
    pool: str  # "main" (SQLAlchemy) or "reads" (the hot path's asyncpg pool)
    used: int
    idle: int


@dataclass(frozen=True, slots=True)
class Sources:
    """What the observed gauges read when a reader collects: the runtime passes them
    in, so this module needs nothing from above it."""

    pools: Callable[[], Iterable[PoolUsage]]
    policy_version: Callable[[], int | None]
    anchor_age: Callable[[], float | None]


def _bounded(value: str | None, allowed: frozenset[str]) -> str:
    if value is None:
        return NONE
    return value if value in allowed else OTHER


class Meters:
    """The instruments, and the registry `/metrics` renders."""

    def __init__(self, *, otlp: bool = False) -> None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        self.registry = CollectorRegistry(auto_describe=False)
        readers: list[MetricReader] = [
            PrometheusMetricReader(registry=self.registry, scope_info_enabled=False)
        ]
        if otlp:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )

            # interval from OTEL_METRIC_EXPORT_INTERVAL, as the SDK reads it
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
        if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
            resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
        # closed by the runtime (force_flush); an exit hook per provider would keep every
        # test's provider alive until the process ends
        self.provider = MeterProvider(
            metric_readers=readers, resource=resource, shutdown_on_exit=False
        )
        self.names = OperationNames()
        meter = self.provider.get_meter(METER_NAME)
        self._requests = meter.create_counter(
            "dibao.requests", unit="{request}", description="Requests by operation, outcome, role."
        )
        self._duration = meter.create_histogram(
            "dibao.request.duration",
            unit="s",
            description="Time from a request's arrival to its answer, audit entry included.",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self._refused = meter.create_counter(
            "dibao.requests.refused",
            unit="{request}",
            description="Requests refused: unauthenticated, denied, invalid, too complex.",
        )
        self._rate_limited = meter.create_counter(
            "dibao.requests.rate_limited",
            unit="{request}",
            description="Requests refused for their rate: per credential, or without one.",
        )
        self._errors = meter.create_counter(
            "dibao.errors", unit="{error}", description="Error codes answered, by code."
        )
        self._append = meter.create_histogram(
            "dibao.audit.append.duration",
            unit="s",
            description="Writing and committing a request's audit entries.",
            explicit_bucket_boundaries_advisory=LATENCY_BUCKETS,
        )
        self._batch = meter.create_histogram(
            "dibao.audit.append.batch_size",
            unit="{entry}",
            description="Audit entries written by one append.",
            explicit_bucket_boundaries_advisory=BATCH_BUCKETS,
        )
        self._meter = meter
        self._watching = False

    def watch(self, sources: Sources) -> None:
        """Gauges read at collection time; once per runtime."""
        if self._watching:
            return
        self._watching = True

        def pools(_: CallbackOptions) -> Iterator[Observation]:
            for usage in sources.pools():
                yield Observation(usage.used, {"pool": usage.pool, "state": "used"})
                yield Observation(usage.idle, {"pool": usage.pool, "state": "idle"})

        def policy(_: CallbackOptions) -> Iterator[Observation]:
            version = sources.policy_version()
            if version is not None:
                yield Observation(version)

        def anchor(_: CallbackOptions) -> Iterator[Observation]:
            age = sources.anchor_age()
            if age is not None:
                yield Observation(age)

        self._meter.create_observable_gauge(
            "dibao.db.pool.connections",
            callbacks=[pools],
            unit="{connection}",
            description="Database connections open, in use or idle, per pool.",
        )
        self._meter.create_observable_gauge(
            "dibao.policy.version",
            callbacks=[policy],
            description="Version of the access policy this process enforces.",
        )
        self._meter.create_observable_gauge(
            "dibao.audit.anchor.age",
            callbacks=[anchor],
            unit="s",
            description="Seconds since this process last wrote a signed audit checkpoint.",
        )

    def request(
        self,
        *,
        operation: str,
        operation_type: str | None,
        outcome: str,
        role: str | None,
        error_codes: Iterable[str],
        seconds: float | None,
    ) -> None:
        """One finished request. `operation` is already a label (`OperationNames`)."""
        outcome = _bounded(outcome, OUTCOMES)
        role_label = _bounded(role, ROLES)
        attributes = {
            "operation": operation,
            "operation_type": _bounded(operation_type, OPERATION_TYPES),
            "outcome": outcome,
            "role": role_label,
        }
        self._requests.add(1, attributes)
        if seconds is not None:  # by operation, not role: a dozen buckets per series
            timed = {k: v for k, v in attributes.items() if k != "role"}
            self._duration.record(seconds, timed)
        if outcome in REFUSALS:
            self._refused.add(1, {"outcome": outcome, "role": role_label})
        elif outcome == F.RATE_LIMITED:  # without a role: refused before any credential
            source = "anonymous" if role is None else "credential"
            self._rate_limited.add(1, {"source": source, "role": role_label})
        for code in set(error_codes):
            self._errors.add(1, {"code": _bounded(code, ERROR_CODES)})

    def audit_appended(self, seconds: float, *, entries: int = 1) -> None:
        """One append to the chain, committed: its time, and how many entries it wrote
        (a mutation's entry alone; a group commit of reads, its batch's size)."""
        self._append.record(seconds)
        self._batch.record(entries)

    def exposition(self) -> bytes:
        """The Prometheus text of these instruments."""
        return generate_latest(self.registry)

    def flush(self) -> None:
        self.provider.force_flush()
