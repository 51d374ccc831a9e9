"""The schema's entry points (names fixed by the SPEC) and its construction."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from audit.tracing import GraphQLSpans
from gateway.errors import error_code
from gateway.policy_gate import PolicyGate
from resolvers import admin, applications
from resolvers import audit_events as audit_resolvers
from resolvers import households as household_resolvers
from resolvers.admin import CredentialInfo, IssuedCredential, PolicyChange, PolicyRule
from resolvers.audit_events import (
    ActivityBucket,
    AuditChainStatus,
    AuditEventConnection,
    AuditVerificationRun,
)
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

    policy_rules: list[PolicyRule] = strawberry.field(
        resolver=admin.policy_rules, description="The access policy in force (secadmin)."
    )
    audit_events: AuditEventConnection = strawberry.field(
        resolver=audit_resolvers.audit_events,
        description="The audit log, newest first, filtered (auditor).",
    )
    audit_activity: list[ActivityBucket] = strawberry.field(
        resolver=audit_resolvers.audit_activity,
        description="Refused and failed requests over time, per principal or role (auditor).",
    )
    audit_chain: AuditChainStatus = strawberry.field(
        resolver=audit_resolvers.audit_chain,
        description="Size and head of the audit chain, and its last verification (auditor).",
    )
    credentials: list[CredentialInfo] = strawberry.field(
        resolver=admin.credentials, description="Issued credentials, never tokens (sysadmin)."
    )


@strawberry.type
class Mutation:
    submit_application: Household = strawberry.field(
        resolver=applications.submit_application,
        description="Submit a new application; the household enters the review chain as SUBMITTED.",
    )
    grant_permission: PolicyChange = strawberry.field(
        resolver=admin.grant_permission, description="Add a permission rule (secadmin)."
    )
    revoke_permission: PolicyChange = strawberry.field(
        resolver=admin.revoke_permission, description="Remove a permission rule (secadmin)."
    )
    grant_role: PolicyChange = strawberry.field(
        resolver=admin.grant_role, description="Let a role inherit another (secadmin)."
    )
    revoke_role: PolicyChange = strawberry.field(
        resolver=admin.revoke_role, description="Remove a role inheritance (secadmin)."
    )
    verify_audit_chain: AuditVerificationRun = strawberry.field(
        resolver=audit_resolvers.verify_audit_chain,
        description="Recompute the audit chain now and record the result (auditor).",
    )
    issue_credential: IssuedCredential = strawberry.field(
        resolver=admin.issue_credential, description="Issue a bearer credential (sysadmin)."
    )
    revoke_credential: CredentialInfo = strawberry.field(
        resolver=admin.revoke_credential, description="Revoke a credential at once (sysadmin)."
    )


class QuietSchema(strawberry.Schema):
    """Logs only unexpected errors: a refusal or a bad input is an answer, not a fault."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [e for e in errors if error_code(e) == "INTERNAL"]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(*, max_tokens: int = 2000, gate: bool = True) -> strawberry.Schema:
    """The served schema: the policy gate decides every field before execution.

    `gate=False` gives the bare schema the benchmark uses as its baseline.
    """
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = []
    if gate:
        extensions = [
            GraphQLSpans,
            PolicyGate,
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
        ]
    return QuietSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=True),
    )
