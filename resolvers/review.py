"""Permission review (权限审查, issue 17): who holds what, how it is used, how the policy
differs from the shipped one, and the security officers' recorded reviews.

The lists read credentials and the audit log's usage index, never personal data;
which role may read or record them is the policy's business.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from domain.bounds import DEFAULT_PAGE, page_size
from domain.errors import InvalidInput
from domain.review import (
    EXPIRING_DAYS,
    MAX_NOTE,
    UNUSED_DAYS,
    USAGE_LEVELS,
    ReviewDue,
    broader_than_use,
    check_unused_days,
    review_due,
    used_region,
)
from resolvers.context import Info
from resolvers.pages import Page
from store import review as store
from store.models import Credential, PermissionReview


@dataclass(frozen=True, slots=True)
class BroaderScope:
    credential: Credential
    used_region: str  # the narrowest region every household read lies in
    households: int  # distinct households read in the window


@dataclass(frozen=True, slots=True)
class ReviewLists:
    unused_days: int
    unused: Sequence[Credential]
    expiring: Sequence[Credential]
    broader: list[BroaderScope]
    differences: list[store.PolicyDifference]

    def summary(self) -> dict[str, int]:
        return {
            "unusedDays": self.unused_days,
            "unused": len(self.unused),
            "expiring": len(self.expiring),
            "broaderThanUse": len(self.broader),
            "policyDifferences": len(self.differences),
        }


@dataclass(frozen=True, slots=True)
class DueReview:
    due: ReviewDue
    period_days: int
    reviewer: str | None


async def _lists(info: Info, unused_days: int) -> ReviewLists:
    ctx = info.context
    now = ctx.now
    async with ctx.reading() as session:
        unused = await store.unused_credentials(session, now=now, days=unused_days)
        expiring = await store.expiring_credentials(session, now=now, days=EXPIRING_DAYS)
        wide = await store.wide_credentials(session, now=now, wider_than=USAGE_LEVELS[-1])
        usage = await store.credential_usage(session, ids=[c.id for c in wide], now=now)
        differences = await store.policy_differences(session, shipped=ctx.settings.shipped_policy)
    broader = []
    for credential in wide:
        used = usage.get(credential.id)
        if used is None or used.first_archive is None or used.last_archive is None:
            continue  # read no household in the window: the unused list's business
        region = used_region(used.first_archive, used.last_archive)
        if broader_than_use(credential.region_scope, region):
            broader.append(BroaderScope(credential, region, used.households))
    return ReviewLists(unused_days, unused, expiring, broader, differences)


async def permission_review(info: Info, unused_days: int = UNUSED_DAYS) -> ReviewLists:
    return await _lists(info, check_unused_days(unused_days))


async def record_permission_review(info: Info, note: str) -> PermissionReview:
    """What the reviewer saw is recomputed here, at the moment of the record, so the
    snapshot is the service's, not the client's."""
    note = note.strip()
    if not note or len(note) > MAX_NOTE:
        raise InvalidInput(f"note: 1 to {MAX_NOTE} characters", field="note")
    ctx = info.context
    summary = (await _lists(info, UNUSED_DAYS)).summary()
    async with ctx.writing() as session:
        return await store.record_review(
            session,
            reviewer=ctx.principal.name,
            role=ctx.principal.role,
            note=note,
            summary=summary,
            now=ctx.now,
        )


def _cursor(review_id: int) -> str:
    return base64.urlsafe_b64encode(f"r:{review_id}".encode()).decode()


def _after(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.b64decode(cursor.encode("ascii"), altchars=b"-_", validate=True).decode()
        digits = raw.removeprefix("r:")
        if raw.startswith("r:") and digits.isascii() and digits.isdigit() and len(digits) < 16:
            return int(digits)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput("after: not a cursor from this API", field="after")


async def permission_reviews(
    info: Info, first: int | None = DEFAULT_PAGE, after: str | None = None
) -> Page[PermissionReview]:
    size = page_size(first)
    async with info.context.reading() as session:
        rows = await store.reviews_page(session, first=size, after_id=_after(after))
    return Page(
        rows=[(r, _cursor(r.id)) for r in rows[:size]], has_next=len(rows) > size, after=after
    )


async def permission_review_due(info: Info) -> DueReview:
    ctx = info.context
    async with ctx.reading() as session:
        last = await store.last_review(session)
    period = ctx.settings.review_period_days
    return DueReview(
        due=review_due(last.at if last else None, ctx.now, period),
        period_days=period,
        reviewer=last.reviewer if last else None,
    )
