"""Charging a walked operation: every root field call against the rate limit, lookups
against their quota. Wired into the policy gate as its charge hook, so the compiled
and the generic path charge in the same place, once per request."""

from __future__ import annotations

from domain.principal import Principal
from gateway.quota import LookupQuotas
from gateway.ratelimit import RateLimiter, retry_after_header
from policies.errors import GateError
from policies.walk import Analysis, Charge

RETRY_AFTER = "retryAfter"  # extension the endpoint turns into the Retry-After header


def rate_limited(message: str, wait: float) -> GateError:
    return GateError(message, "RATE_LIMITED", **{RETRY_AFTER: int(retry_after_header(wait))})


def charge_for(principal: Principal, limiter: RateLimiter, quotas: LookupQuotas) -> Charge:
    credential, role = principal.credential_id, principal.role

    def charge(analysis: Analysis) -> GateError | None:
        # the request's first call was taken at the door, before its body was read
        extra = analysis.charged_calls - 1
        if extra > 0:
            wait = limiter.take(credential, role, extra)
            if wait is not None:
                return rate_limited(
                    "Too many calls for this credential: this operation makes "
                    f"{analysis.charged_calls}"
                    "; retry later.",
                    wait,
                )
        return charge_lookups(principal, quotas, analysis.lookups)

    return charge


def charge_lookups(principal: Principal, quotas: LookupQuotas, count: int) -> GateError | None:
    """`count` answers about full ID numbers against the credential's lookup quota: all of
    them fit and are counted, or none is and the refusal says when to retry."""
    wait = quotas.take(principal.credential_id, principal.role, count)
    if wait is None:
        return None
    return rate_limited(
        "Lookup quota of this credential used up; nothing was answered. Retry later.", wait
    )
