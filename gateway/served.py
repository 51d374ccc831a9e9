"""The served schema: the composition root hands the schema its request pipeline.

The schema package knows no gateway; the gateway decides which extensions run
around every operation, and in which order.
"""

from __future__ import annotations

from functools import cache

import strawberry
from strawberry.extensions import MaxTokensLimiter

from gateway.document_limits import CheckedValidation
from gateway.documents import CachedParse
from gateway.policy_gate import PolicyGate
from gateway.tracing import GraphQLSpans
from policies.limits import MAX_TOKENS
from schema.root import Extension, build_schema


@cache
def served_schema(*, max_tokens: int = MAX_TOKENS) -> strawberry.Schema:
    """The schema with the policy gate deciding every field before execution.

    Built once per process and limit: the schema holds no request or app state (its
    extensions are made afresh for each operation), and building it is the costliest
    step of making an app, which the tests do for every test and `--workers` per process.
    """
    extensions: list[Extension] = [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        GraphQLSpans,
        # parsing and validation depend only on the text: cached per process;
        # the policy walk is not. Size limits run between the two, before
        # validation can cost much.
        CachedParse,
        CheckedValidation,
        PolicyGate,
    ]
    return build_schema(extensions=extensions)
