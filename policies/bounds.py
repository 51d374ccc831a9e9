"""The cost model: what a field costs, and how many items a list field can return.

The figures are declared on the fields they price, in the schema
(`strawberry.field(metadata=priced(...))`, schema/pricing.py); the gateway reads
them off the built schema once, at start, into a `Pricing` that the policy walk
prices every operation by (policies/walk.py). This module holds only the model's
shape and units, so the walk needs no schema import.

A connection's edges are as many as its `first` (PAGE); every other list has a
declared bound. tests/authz/test_limits.py enumerates the schema's list fields and
fails on one without a bound, and on a root field or `totalCount` without a cost,
so a new list or aggregate cannot be priced by a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from domain import bounds

PAGE: Final = "page"  # sized by the enclosing connection's `first`
Bound = int | Literal["page"]

MAX_PAGE: Final = bounds.MAX_PAGE  # the largest `first` any connection accepts

# The price of a field that aggregates over a whole scope (a region's households,
# the audit log) rather than reading rows by key or by page: above half the cost
# limit (policies/limits.py, Limits.max_cost = 100,000), so one document holds at
# most one of them: fifteen aliases of `statistics` are refused before a scan
# runs, whatever their speed.
SCAN: Final = 60_000


@dataclass(frozen=True, slots=True)
class Pricing:
    """The declared figures by `Type.field`: list bounds, and costs beyond the 1
    every field call costs. A field with no declared cost costs 1; a list with no
    declared bound is priced as the largest page."""

    bounds: Mapping[str, Bound] = field(default_factory=dict)
    costs: Mapping[str, int] = field(default_factory=dict)
