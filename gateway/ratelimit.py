"""Request rate limits per credential: a token bucket each, sized by role.

A bucket holds up to `burst` requests and refills at `rate` per second. Each
credential has its own bucket, so one caller over its limit is refused (429 with
Retry-After, audited like every request) without using up anyone else's.
Partners (machine credentials of other departments, running batches) get the
strictest default.

    DIBAO_RATE_LIMITS="partner=20/40,default=100/200"   # role=rate/burst, per second

Requests without a valid credential (none, bad, expired, revoked; and methods
other than POST) are limited per client address instead, by the pseudo-role
`anonymous` (`DIBAO_RATE_LIMITS="anonymous=1/10"`). The address is the ASGI
peer address: behind a proxy, that is the proxy's, unless the server is run
with forwarded-header support for trusted proxies (uvicorn's
`--forwarded-allow-ips`). IPv6 peers are grouped by /64, since one host
commonly holds a whole /64.

The gateway takes one token when a request arrives, before its body is read,
and after the policy walk one more for every further root field call (each
alias a call): a document of fifteen aliased lookups costs fifteen tokens.

Limits are per server process; with several processes behind a balancer each
enforces its share.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_BUCKETS = 100_000  # idle buckets are dropped beyond this (they refill to full anyway)


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: float


ANONYMOUS = "anonymous"
DEFAULT_RATES = {"partner": Rate(20, 40), "default": Rate(100, 200), ANONYMOUS: Rate(1, 10)}


def parse_rate_limits(text: str) -> dict[str, Rate]:
    """`role=rate/burst,...` over the defaults; `default` applies to roles not named."""
    rates = dict(DEFAULT_RATES)
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, spec = part.partition("=")
        rate, slash, burst = spec.partition("/")
        try:
            per_second = float(rate)
            size = float(burst) if slash else max(1.0, per_second)
        except ValueError:
            raise ValueError(f"DIBAO_RATE_LIMITS: {part!r} is not role=rate/burst") from None
        finite = math.isfinite(per_second) and math.isfinite(size)
        if not sep or not role.strip() or not finite or per_second <= 0 or size < 1:
            raise ValueError(f"DIBAO_RATE_LIMITS: {part!r} is not role=rate/burst (both > 0)")
        rates[role.strip()] = Rate(per_second, size)
    return rates


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    rates: dict[str, Rate]
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def rate_for(self, role: str) -> Rate:
        return self.rates.get(role) or self.rates["default"]

    def take(self, credential_id: str, role: str, n: float = 1) -> float | None:
        """None when `n` calls may go ahead (and are taken); else seconds until they could.

        A refusal takes nothing. More calls than the burst are never covered at once.
        """
        rate = self.rate_for(role)
        now = self.clock()
        bucket = self._buckets.get(credential_id)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            bucket = self._buckets[credential_id] = _Bucket(tokens=rate.burst, stamp=now)
        else:
            bucket.tokens = min(rate.burst, bucket.tokens + (now - bucket.stamp) * rate.per_second)
            bucket.stamp = now
        if bucket.tokens >= n:
            bucket.tokens -= n
            return None
        return (n - bucket.tokens) / rate.per_second


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


MAX_ADDRESSES = 10_000  # addresses whose refusals are counted one by one; the rest pooled
OTHER_ADDRESSES = "*"


def address_key(host: str | None) -> str:
    """The limiter's key for a peer: the IPv4 address, or the IPv6 /64."""
    if not host:
        return OTHER_ADDRESSES
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class AddressLimiter:
    """A bucket per client address for requests without a valid credential.

    Within the bucket each request is audited as usual. Over it, requests are
    refused and only counted here; `drain` hands the counts to the gateway,
    which writes one summary audit entry per address. The audit log then grows
    by at most the burst plus one entry per address and summary interval,
    however hard an address hammers, and no refusal goes unrecorded.
    """

    rate: Rate
    clock: Callable[[], float] = time.monotonic
    _buckets: RateLimiter = field(init=False)
    _refused: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._buckets = RateLimiter({"default": self.rate}, clock=self.clock)

    def take(self, key: str) -> float | None:
        return self._buckets.take(key, ANONYMOUS)

    def refuse(self, key: str) -> None:
        if key not in self._refused and len(self._refused) >= MAX_ADDRESSES:
            key = OTHER_ADDRESSES
        self._refused[key] = self._refused.get(key, 0) + 1

    def restore(self, key: str, count: int) -> None:
        self._refused[key] = self._refused.get(key, 0) + count

    def drain(self) -> dict[str, int]:
        counts, self._refused = self._refused, {}
        return counts
