"""The error every refusal of the policy layer carries: a message and a `code` extension."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class GateError(GraphQLError):
    def __init__(self, message: str, code: str, **extra: Any) -> None:
        super().__init__(message, extensions={"code": code, **extra})
