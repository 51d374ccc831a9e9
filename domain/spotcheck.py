"""County spot checks (抽查) of township work: a reproducible random draw.

The county draws a share of the cases its townships reviewed in a month for its
own home visits; each drawn case needs that visit before approval. The draw is a
pure function of the sorted candidates, the share and a seed that is recorded
with it, so anyone holding the record can draw it again and get the same cases.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal

from domain.errors import InvalidInput

DEFAULT_SHARE = Decimal("0.25")  # within the 20–30% the county's rules ask for
MIN_SHARE = Decimal("0.20")
MAX_SHARE = Decimal("1.00")
MAX_CANDIDATES = 20_000  # a county's township reviews in a month, with room to spare


def check_share(share: Decimal | None) -> Decimal:
    value = DEFAULT_SHARE if share is None else share
    if not (MIN_SHARE <= value <= MAX_SHARE):
        raise InvalidInput(f"share: between {MIN_SHARE} and {MAX_SHARE}", field="share")
    return value.quantize(Decimal("0.01"))


def sample_size(candidates: int, share: Decimal) -> int:
    """The share of the candidates, rounded up: a county of few cases still checks one."""
    return min(candidates, math.ceil(Decimal(candidates) * share))


def draw(candidates: Sequence[str], *, seed: int, share: Decimal) -> list[str]:
    """The drawn archive numbers, in archive order, for these candidates and seed."""
    ordered = sorted(set(candidates))
    rng = random.Random(seed)  # noqa: S311 - reproducible by design; the seed is recorded
    return sorted(rng.sample(ordered, sample_size(len(ordered), share)))
