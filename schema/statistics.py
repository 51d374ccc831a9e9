"""Statistics (统计) by track, status and category, as the schema shows them."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from resolvers.timeliness import PeriodStatistics
from schema.enums import Area, Category, HouseholdStatus
from schema.pricing import priced

LABEL = (
    "The count as text, for every reader: exact where the policy lets the caller read "
    'the rows, else small-cell suppressed ("<5" under five). Show this one.'
)


@strawberry.type
class StatusCount:
    area: Area
    status: HouseholdStatus
    households: int = strawberry.field(description="Exact count (readers of the rows).")
    households_label: str = strawberry.field(description=LABEL)


@strawberry.type
class CategoryCount:
    category: Category
    households: int = strawberry.field(description="Active households with such a member.")
    households_label: str = strawberry.field(description=LABEL)


@strawberry.type
class PaymentTotal:
    area: Area
    status: str
    payments: int = strawberry.field(description="Exact count (readers of the rows).")
    payments_label: str = strawberry.field(description=LABEL)
    amount: Decimal


@strawberry.type(description="Counts and amounts in your region, by track, status and category.")
class Statistics:
    period: str
    # small enumerations: tracks x statuses, categories, payment statuses
    by_status: list[StatusCount] = strawberry.field(metadata=priced(bound=40))
    by_category: list[CategoryCount] = strawberry.field(metadata=priced(bound=4))
    payments: list[PaymentTotal] = strawberry.field(metadata=priced(bound=10))

    @classmethod
    def from_found(cls, stats: PeriodStatistics) -> Statistics:
        found = stats.found
        return cls(
            period=stats.period,
            by_status=[
                StatusCount(
                    area=Area(a), status=HouseholdStatus(s), households=n, households_label=str(n)
                )
                for a, s, n in found.by_status
            ],
            by_category=[
                CategoryCount(category=Category(c), households=n, households_label=str(n))
                for c, n in found.by_category
            ],
            payments=[
                PaymentTotal(area=Area(a), status=s, payments=n, payments_label=str(n), amount=t)
                for a, s, n, t in found.payments
            ],
        )
