"""The resolvers' input shapes made GraphQL inputs, with their descriptions.

Resolvers name their inputs in their own signatures as plain classes; this module,
imported by the root before the schema is built, makes each a Strawberry input
(as `schema/enums.py` does for the domain's enums). The bounds of every input field
are in `schema/inputs.py`.
"""

from __future__ import annotations

import strawberry

from resolvers.admin import PermissionInput
from resolvers.applications import ApplicationInput, MemberInput
from resolvers.changes import ChangeInput
from resolvers.verification import AnswerInput, FindingInput
from resolvers.workflow import InvestigationInput
from schema import enums  # noqa: F401  # the enums the inputs name, described first

__all__ = [
    "AnswerInput",
    "ApplicationInput",
    "ChangeInput",
    "FindingInput",
    "InvestigationInput",
    "MemberInput",
    "PermissionInput",
]

strawberry.input(MemberInput, description="A member of the applying household.")
strawberry.input(
    ApplicationInput, description="A new application (申请): the household and all its members."
)
strawberry.input(ChangeInput, description="A change report; give the fields its kind needs.")
strawberry.input(
    InvestigationInput, description="The home visit (入户调查): when, who, what was found."
)
strawberry.input(
    PermissionInput, description="A permission: role, region scope, Type.field, action, effect."
)
strawberry.input(
    FindingInput, description="What a department found about one subject; omit what it lacks."
)
strawberry.input(AnswerInput, description="One verification request's answer, in a batch.")
