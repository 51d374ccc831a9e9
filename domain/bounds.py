"""How many rows a list returns: one source for the store, which reads no more than
these (the newest ones), for the resolvers and the compiled read path, which page by
them, and for the cost model, which prices each list by them (declared on the
schema's fields, schema/pricing.py).

A member list is capped when it is written (applications, change reports) and
is read whole; the histories grow by one row per step, change or month, so the
store keeps the newest ones and drops the oldest from the answer.
"""

from __future__ import annotations

from typing import Final

from domain.errors import InvalidInput

# a connection's page: `first` when given, else the default; never over the maximum
DEFAULT_PAGE: Final = 50
MAX_PAGE: Final = 500

MEMBERS: Final = 30  # active and former members of one household
REVIEWS: Final = 50
OBJECTIONS: Final = 50
BENEFIT_HISTORY: Final = 200
CHANGES: Final = 200
PAYMENTS: Final = 120  # monthly: the newest years of payments
ASSETS: Final = 50
MISSING_MATERIALS: Final = 20  # materials asked for in one return for correction (补正)
DUPLICATE_ARCHIVES: Final = 50  # households in view holding one ID number


def page_size(first: int | None) -> int:
    """A connection's `first`, checked as every connection (and the compiled path) checks it."""
    size = DEFAULT_PAGE if first is None else first
    if not 0 <= size <= MAX_PAGE:
        raise InvalidInput(f"first: between 0 and {MAX_PAGE}", field="first")
    return size
