"""A resolver served as a root field: its arguments as written, its plain result
wrapped into the field's GraphQL type by the schema.

Resolvers never import `schema` (pyproject.toml, the `layers` contract): they
return store rows, pages and dataclasses, and the root field names the type.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def returning(
    convert: Callable[[R], T], resolver: Callable[P, Awaitable[R]]
) -> Callable[P, Awaitable[T]]:
    """`resolver` with its result passed through `convert`. Strawberry reads the
    arguments from the resolver's own signature (`functools.wraps` keeps it); the
    field's declared type, not the resolver's return annotation, types the field."""

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> T:
        return convert(await resolver(*args, **kwargs))

    return resolve


def optional(convert: Callable[[R], T]) -> Callable[[R | None], T | None]:
    return lambda value: None if value is None else convert(value)


def each(convert: Callable[[R], T]) -> Callable[[Iterable[R]], list[T]]:
    return lambda values: [convert(v) for v in values]
