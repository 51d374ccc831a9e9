"""County spot checks (抽查), as the schema shows them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from domain.spotcheck import MAX_CANDIDATES
from schema.pricing import priced
from store import spotchecks as store


@strawberry.type(
    description="A county's spot check of a month's township reviews: draw it again from "
    "the seed (domain/spotcheck.py) over the candidates in archive order."
)
class SpotCheck:
    id: strawberry.ID
    county_code: str
    period: str
    share: Decimal
    seed: str = strawberry.field(description="The random seed the draw used, recorded.")
    candidates: int = strawberry.field(description="Township-reviewed cases it drew from.")
    drawn: list[str] = strawberry.field(
        description="Archive numbers drawn: each needs a county home visit before approval.",
        metadata=priced(bound=MAX_CANDIDATES),
    )
    drawn_by: str
    drawn_at: dt.datetime

    @classmethod
    def from_drawn(cls, found: store.Drawn) -> SpotCheck:
        check = found.check
        return cls(
            id=strawberry.ID(check.id),
            county_code=check.county_code,
            period=check.period,
            share=Decimal(check.share),
            seed=check.seed,
            candidates=check.candidates,
            drawn=found.drawn,
            drawn_by=check.drawn_by,
            drawn_at=check.drawn_at,
        )
