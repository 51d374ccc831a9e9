"""The schema's entry points (names fixed by the SPEC) and its construction."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig

from resolvers import applications
from resolvers import households as household_resolvers
from schema.types import Household, HouseholdConnection, RecipientCheck


@strawberry.type
class Query:
    household: Household | None = strawberry.field(
        resolver=household_resolvers.household,
        description="One archive by its number, if in your region.",
    )
    households: HouseholdConnection | None = strawberry.field(
        resolver=household_resolvers.households,
        description="Archives in your region, filtered and paged.",
    )
    verify_recipient: RecipientCheck | None = strawberry.field(
        resolver=household_resolvers.verify_recipient,
        description="Whether a person is a current recipient; masked details only.",
    )


@strawberry.type
class Mutation:
    submit_application: Household = strawberry.field(
        resolver=applications.submit_application,
        description="Submit a new application; the household enters the review chain as SUBMITTED.",
    )


def build_schema(extensions: Sequence[type[SchemaExtension]] = ()) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=list(extensions),
        config=StrawberryConfig(disable_field_suggestions=True),
    )
