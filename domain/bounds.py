"""How many of its own records one archive returns in a list: one source for the
store, which reads no more than these (the newest ones), and for the gateway's
cost model, which prices each list by them.

A member list is capped when it is written (applications, change reports) and
is read whole; the histories grow by one row per step, change or month, so the
store keeps the newest ones and drops the oldest from the answer.
"""

from __future__ import annotations

from typing import Final

MEMBERS: Final = 30  # active and former members of one household
REVIEWS: Final = 50
OBJECTIONS: Final = 50
BENEFIT_HISTORY: Final = 200
CHANGES: Final = 200
PAYMENTS: Final = 120  # monthly: the newest years of payments
ASSETS: Final = 50
DUPLICATE_ARCHIVES: Final = 50  # households in view holding one ID number
