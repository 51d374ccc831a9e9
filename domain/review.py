"""Permission review (权限审查): the rules the review lists, the CLI and the token
lifetime share. Pure: the caller passes the clock's reading and the figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.errors import InvalidInput

UNUSED_DAYS = 90  # a credential unused this long is listed for revocation
EXPIRING_DAYS = 14  # a credential expiring this soon is listed for renewal or retirement
USAGE_DAYS = 30  # the window of the usage figures (requests, households read)
REVIEW_PERIOD_DAYS = 90  # a review older than this is overdue (DIBAO_REVIEW_PERIOD_DAYS)
MAX_UNUSED_DAYS = 3660
MAX_NOTE = 2000  # characters of a review's note
# a credential's longest life per role, in days (DIBAO_MAX_TOKEN_DAYS); a partner's is
# a year, the term of a typical data-sharing agreement
MAX_TOKEN_DAYS = {"partner": 365, "default": 365}
# scope levels up to the county: a scope wider than the county its reads fell in
USAGE_LEVELS = (2, 4, 6)
VILLAGE_CODE = 12


def parse_max_token_days(text: str) -> dict[str, int]:
    """`partner=365,default=365` over the defaults; each value whole days, 1 to 3660."""
    days = dict(MAX_TOKEN_DAYS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit() or not 1 <= int(value) <= MAX_UNUSED_DAYS:
            raise ValueError(f"DIBAO_MAX_TOKEN_DAYS: expected role=days (1-3660), got {part!r}")
        days[role.strip()] = int(value)
    return days


def check_lifetime(role: str, ttl: dt.timedelta, max_days: dict[str, int]) -> None:
    """Refuse a lifetime longer than the role's maximum, naming the maximum."""
    limit = max_days.get(role, max_days.get("default", MAX_TOKEN_DAYS["default"]))
    if ttl > dt.timedelta(days=limit):
        raise InvalidInput(
            f"ttl: a {role} credential lives at most {limit} days (DIBAO_MAX_TOKEN_DAYS)",
            field="ttl",
        )


def check_unused_days(days: int) -> int:
    if not 1 <= days <= MAX_UNUSED_DAYS:
        raise InvalidInput(f"unusedDays: 1 to {MAX_UNUSED_DAYS}", field="unusedDays")
    return days


def used_region(first_archive: str, last_archive: str) -> str:
    """The narrowest scope level (province, city, county) holding every household read,
    given the least and greatest archive numbers read: the common prefix of a sorted
    set is the common prefix of its ends. "" when they span provinces."""
    first, last = first_archive[:VILLAGE_CODE], last_archive[:VILLAGE_CODE]
    same = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), None)
    common = first[: min(len(first), len(last)) if same is None else same]
    return next((common[:n] for n in reversed(USAGE_LEVELS) if len(common) >= n), "")


def broader_than_use(scope: str, used: str) -> bool:
    """A scope wider than the county is broader than its use when every household read
    in the window lies in one narrower region ("" is national)."""
    return len(scope) < USAGE_LEVELS[-1] and len(used) > len(scope)


@dataclass(frozen=True, slots=True)
class ReviewDue:
    last_at: dt.datetime | None
    due_at: dt.datetime | None
    overdue: bool


def review_due(last_at: dt.datetime | None, now: dt.datetime, period_days: int) -> ReviewDue:
    """Never reviewed is overdue; otherwise due `period_days` after the last review."""
    if last_at is None:
        return ReviewDue(last_at=None, due_at=None, overdue=True)
    due_at = last_at + dt.timedelta(days=period_days)
    return ReviewDue(last_at=last_at, due_at=due_at, overdue=now >= due_at)
