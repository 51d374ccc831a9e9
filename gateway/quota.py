"""Lookup quotas: how many answers about a full ID number a credential gets, per minute and day.

What counts (`LOOKUP_FIELDS`, `LOOKUP_ARGUMENTS` in policies/walk.py): each
`verifyRecipient` call, each `auditEvents(lookedUpIdNumber:)` call,
and each ID number an application or a change report checks for a claim elsewhere
(charged by the resolver through `Context.charge_claims`, before the check runs).

A masked ID number hides only the birth date (a few thousand candidates), so any
"is this full ID number a recipient?" answer is an oracle. The request rate
limit bounds load; this bounds answers. Every call counts, aliases included,
and an operation whose calls do not all fit is refused whole (429 RATE_LIMITED,
audited, nothing answered), so it cannot be used to learn part of a batch.

    DIBAO_LOOKUP_QUOTAS="partner=30/2000,default=60/5000"   # role=per-minute/per-day

Windows are fixed: the current UTC minute and the current Beijing day. Counts are
kept in process memory, like the rate limiter: a restart or a second process
gives a credential a fresh allowance. That is accepted on purpose: the quota is a
brake, not the record. The record is the audit log, where every lookup carries
the looked-up person's blind index, and `lookupAlerts` counts misses from it, so
detection survives restarts and spans processes. Counting the day from the
database on every lookup would add a query to the hot path of every partner.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

BEIJING = dt.timezone(dt.timedelta(hours=8))
MAX_CREDENTIALS = 100_000  # idle counters are dropped beyond this (a new window resets them)


@dataclass(frozen=True, slots=True)
class Quota:
    per_minute: int
    per_day: int


DEFAULT_QUOTAS = {"partner": Quota(30, 2000), "default": Quota(60, 5000)}


def parse_lookup_quotas(text: str) -> dict[str, Quota]:
    """`role=per-minute/per-day,...` over the defaults; `default` covers roles not named."""
    quotas = dict(DEFAULT_QUOTAS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, spec = part.partition("=")
        minute, slash, day = spec.partition("/")
        try:
            per_minute, per_day = int(minute), int(day)
        except ValueError:
            raise ValueError(f"DIBAO_LOOKUP_QUOTAS: {part!r} is not role=minute/day") from None
        if not sep or not slash or not role.strip() or per_minute < 1 or per_day < per_minute:
            raise ValueError(
                f"DIBAO_LOOKUP_QUOTAS: {part!r} is not role=minute/day (1 <= minute <= day)"
            )
        quotas[role.strip()] = Quota(per_minute, per_day)
    return quotas


@dataclass
class _Counter:
    minute: int = -1
    in_minute: int = 0
    day: dt.date | None = None
    in_day: int = 0


@dataclass
class LookupQuotas:
    quotas: dict[str, Quota]
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    _counters: dict[str, _Counter] = field(default_factory=dict)

    def quota_for(self, role: str) -> Quota:
        return self.quotas.get(role) or self.quotas["default"]

    def take(self, credential_id: str, role: str, n: int) -> float | None:
        """None when `n` lookups fit both windows (and are counted); else seconds to wait."""
        if n <= 0:
            return None
        quota = self.quota_for(role)
        now = self.clock()
        minute = math.floor(now.timestamp() // 60)
        local = now.astimezone(BEIJING)
        day = local.date()
        counter = self._counters.get(credential_id)
        if counter is None:
            if len(self._counters) >= MAX_CREDENTIALS:
                self._counters.clear()
            counter = self._counters[credential_id] = _Counter()
        if counter.minute != minute:
            counter.minute, counter.in_minute = minute, 0
        if counter.day != day:
            counter.day, counter.in_day = day, 0
        if counter.in_day + n > quota.per_day:
            tomorrow = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), BEIJING)
            return (tomorrow - local).total_seconds()
        if counter.in_minute + n > quota.per_minute:
            return 60 - now.timestamp() % 60
        counter.in_minute += n
        counter.in_day += n
        return None
