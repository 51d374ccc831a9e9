"""The resolvers' input shapes made GraphQL inputs, with their descriptions.

Resolvers name their inputs in their own signatures as plain classes; this module,
imported by the root before the schema is built, makes each a Strawberry input
(as `schema/enums.py` does for the domain's enums). The bounds of every input field
are in `schema/inputs.py`. A shape's field with a `dataclasses.field(default_factory=...)`
keeps that default in GraphQL too (Strawberry reads it only off its own fields).
"""

from __future__ import annotations

import dataclasses

import strawberry

from resolvers.admin import PermissionInput
from resolvers.applications import ApplicationInput, AssetInput, MemberInput
from resolvers.chain import MemberIncomeInput
from resolvers.changes import ChangeInput
from resolvers.exports import ExportParams
from resolvers.verification import AnswerInput, FindingInput
from resolvers.workflow import InvestigationInput
from schema import enums  # noqa: F401  # the enums the inputs name, described first

__all__ = [
    "AnswerInput",
    "ApplicationInput",
    "AssetInput",
    "ChangeInput",
    "ExportParams",
    "FindingInput",
    "InvestigationInput",
    "MemberIncomeInput",
    "MemberInput",
    "PermissionInput",
]


def _input(shape: type, *, description: str, ids: tuple[str, ...] = ()) -> None:
    """`ids`: fields typed `str` in the plain shape that GraphQL serves as `ID`."""
    for name in ids:
        optional = shape.__annotations__[name].replace(" ", "") in ("str|None", "None|str")
        shape.__annotations__[name] = strawberry.ID | None if optional else strawberry.ID
    for name, value in list(vars(shape).items()):
        if (
            isinstance(value, dataclasses.Field)
            and value.default_factory is not dataclasses.MISSING
        ):
            setattr(shape, name, strawberry.field(default_factory=value.default_factory))
    strawberry.input(shape, description=description)


_input(MemberInput, description="A member of the applying household.")
_input(AssetInput, description="An asset the household declares: savings, a vehicle, property.")
_input(ApplicationInput, description="A new application (申请): the household and all its members.")
_input(
    ChangeInput, description="A change report; give the fields its kind needs.", ids=("member_id",)
)
_input(InvestigationInput, description="The home visit (入户调查): when, who, what was found.")
_input(PermissionInput, description="A permission: role, region scope, Type.field, action, effect.")
_input(
    MemberIncomeInput,
    description="A member's monthly income as a periodic check found it.",
    ids=("member_id",),
)
_input(
    FindingInput,
    description="What a department found about one subject; omit what it lacks.",
    ids=("subject_id",),
)
_input(
    AnswerInput,
    description="One verification request's answer, in a batch.",
    ids=("request_id",),
)
_input(
    ExportParams,
    description="What an export is of: batchId for PAYMENT_ROLL, region for PUBLIC_LIST, "
    "region and period for STATISTICAL_RETURN, region, period and periodEnd for "
    "STAFF_ASSESSMENT.",
    ids=("batch_id",),
)
