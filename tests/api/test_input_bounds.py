"""Every argument and input field of the schema has a row in `schema/inputs.py`:
every String a length, every list a count, and an explicit audit decision."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
)

from schema.inputs import INPUT_BOUNDS
from schema.root import build_schema

EXECUTABLE_DIRECTIVES = {"include", "skip"}


def _places() -> Iterator[tuple[str, GraphQLInputType]]:
    schema = build_schema()._schema
    for name, type_ in schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType):
            for field_name, field in type_.fields.items():
                for arg_name, arg in field.args.items():
                    yield f"{name}.{field_name}({arg_name}:)", arg.type
        if isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                yield f"{name}.{field_name}", input_field.type
    for directive in schema.directives:
        if directive.name in EXECUTABLE_DIRECTIVES:
            for arg_name, arg in directive.args.items():
                yield f"@{directive.name}({arg_name}:)", arg.type


def _shape(type_: GraphQLInputType) -> tuple[bool, str]:
    """(is a list, the named type inside)."""
    listed = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        listed = listed or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    assert isinstance(type_, GraphQLNamedType)
    return listed, type_.name


def test_every_argument_and_input_field_has_a_row() -> None:
    missing = [c for c, _ in _places() if c not in INPUT_BOUNDS]
    assert not missing, f"declare these in schema/inputs.py: {missing}"


def test_every_string_has_a_length_and_every_list_a_count() -> None:
    unbounded = []
    for coordinate, type_ in _places():
        bound = INPUT_BOUNDS.get(coordinate)
        listed, named = _shape(type_)
        if bound is None:
            continue
        if named in {"String", "ID"} and bound.max_length is None:
            unbounded.append(f"{coordinate}: length")
        if listed and bound.max_items is None:
            unbounded.append(f"{coordinate}: count")
    assert not unbounded, unbounded


def test_no_row_names_a_place_that_does_not_exist() -> None:
    places = {c for c, _ in _places()}
    assert set(INPUT_BOUNDS) <= places, set(INPUT_BOUNDS) - places
