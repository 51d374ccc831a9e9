"""The domain's enums as GraphQL enums, with their descriptions.

Registered here, once, before any type names them: import an enum from this
module in `schema/` and it is the described one (the domain's enums stay plain).
"""

from __future__ import annotations

import strawberry

from domain.enums import (
    Area,
    Category,
    ChangeKind,
    HouseholdStatus,
    PaymentStatus,
    Relation,
    Sex,
)

__all__ = ["Area", "Category", "ChangeKind", "HouseholdStatus", "PaymentStatus", "Relation", "Sex"]

strawberry.enum(Area, description="The dual track (双轨): urban or rural standard.")
strawberry.enum(HouseholdStatus, description="Where the archive stands in the review chain.")
strawberry.enum(Category, description="Special archives (专项档案) derived from the members.")
strawberry.enum(Sex)
strawberry.enum(Relation, description="Relation to the head of household.")
strawberry.enum(PaymentStatus)
strawberry.enum(ChangeKind, description="What changed in the household.")
