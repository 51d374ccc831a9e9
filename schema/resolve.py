"""A resolver served as a root field: its arguments declared for GraphQL here, its
plain result wrapped into the field's GraphQL type by the schema.

Resolvers know nothing of GraphQL (pyproject.toml, the `layers` and
`resolvers-know-no-graphql` contracts): they take the `Info` protocol of
resolvers/context.py and plain arguments, and return store rows, pages and
dataclasses. The root field names the type, and what GraphQL says of an argument
beyond its Python type (a description, the `ID` scalar) is declared next to it:

    household: Household | None = strawberry.field(
        resolver=returning(optional(Household.from_row), household_resolvers.household,
                           archive_no=described("一户一号")),
        ...)
    record_disbursement: Payment = strawberry.field(
        resolver=returning(Payment.from_row, payment_resolvers.record_disbursement,
                           payment_id=strawberry.ID),
        ...)
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any, ParamSpec, TypeVar

import strawberry
from strawberry.types.arguments import StrawberryArgumentAnnotation

from resolvers import context as resolver_context
from schema.context import Info

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

# What a root field's argument may be declared as: a `strawberry.argument` (its
# description and so on: `described`), or the type to serve it as (`strawberry.ID`
# for a plain `str`).
Argument = object


def described(description: str) -> StrawberryArgumentAnnotation:
    return strawberry.argument(description=description)


def _signature(resolver: Callable[..., Any], arguments: dict[str, Argument]) -> inspect.Signature:
    """The resolver's signature as Strawberry reads it: the `Info` protocol made
    Strawberry's `Info`, and the declared arguments annotated."""
    hints = typing.get_type_hints(resolver, include_extras=True)
    signature = inspect.signature(resolver)
    unknown = set(arguments) - set(signature.parameters)
    if unknown:
        raise TypeError(f"{resolver.__qualname__} has no argument {sorted(unknown)}")
    parameters = []
    for parameter in signature.parameters.values():
        annotation = hints.get(parameter.name, parameter.annotation)
        if annotation is resolver_context.Info:
            annotation = Info
        declared = arguments.get(parameter.name)
        if isinstance(declared, StrawberryArgumentAnnotation):
            annotation = Annotated[annotation, declared]
        elif declared is not None:
            annotation = declared
        parameters.append(parameter.replace(annotation=annotation))
    return signature.replace(parameters=parameters)


def served(resolver: Callable[P, Awaitable[R]], **arguments: Argument) -> Callable[P, Awaitable[R]]:
    """`resolver` as a root field's resolver, its result served as it is."""
    return returning(_same, resolver, **arguments)


def returning(
    convert: Callable[[R], T], resolver: Callable[P, Awaitable[R]], **arguments: Argument
) -> Callable[P, Awaitable[T]]:
    """`resolver` with its result passed through `convert`. Strawberry reads the
    arguments from the signature given here (the resolver's own, `info` made
    Strawberry's, `arguments` declared); the field's declared type, not the
    resolver's return annotation, types the field."""

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> T:
        return convert(await resolver(*args, **kwargs))

    resolve.__signature__ = _signature(resolver, arguments)  # type: ignore[attr-defined]
    return resolve


def _same(value: R) -> R:
    return value


def optional(convert: Callable[[R], T]) -> Callable[[R | None], T | None]:
    return lambda value: None if value is None else convert(value)


def each(convert: Callable[[R], T]) -> Callable[[Iterable[R]], list[T]]:
    return lambda values: [convert(v) for v in values]
