"""Arguments against the schema's table of bounds (`schema/inputs.py`), in one place.

For each document (cached per text and operation name) this finds where every
variable flows, to which argument or input field, and checks the literals
written into the document. For each request it then checks the variables'
values at those places, and builds what the audit entry may keep of them: a
value survives only where the table declares its place plain, so redaction is
decided by the schema, not by what a value looks like.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.utilities import value_from_ast_untyped

from audit.record import MAX_NAME, REDACTED, UNDECLARED, cap_variables, scrub, scrub_name
from domain.errors import InvalidInput
from gateway.documents import DOCUMENT_CACHE, parse_cached
from schema.inputs import MAX_YEAR, MIN_YEAR, Bound, bound_of

MAX_KEPT_ITEMS = 50  # list elements the audit entry keeps; the cap on bytes follows
_TEXT_TYPES = frozenset({"String", "ID"})
_DATE_TYPES = frozenset({"Date", "DateTime"})
_YEAR = re.compile(r"^\s*([+-]?[0-9]+)-")
_DATE_TEXT = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]{5,15}(Z|[+-][0-9:]{2,5})?)?\Z")
_NUMBER_TYPES = frozenset({"Int", "Float", "Boolean"})


@dataclass(frozen=True, slots=True)
class Sink:
    """One place a variable flows to: the argument or input field, its type there, and
    the path a caller would name it by in an error."""

    coordinate: str
    type: GraphQLInputType
    path: str


@dataclass(slots=True)
class OperationInputs:
    sinks: dict[str, list[Sink]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # untyped literal defaults
    declared: frozenset[str] = frozenset()  # the operation's variables
    problem: InvalidInput | None = None  # the first literal over its bound, or a bad name


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _unwrap(type_: GraphQLInputType) -> GraphQLInputType:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


class InputRules:
    def __init__(self, schema: GraphQLSchema, audit_key: bytes) -> None:
        self.schema = schema
        self._key = audit_key
        self.analyse = lru_cache(maxsize=DOCUMENT_CACHE)(self._analyse)

    # -- per document -------------------------------------------------------

    def _analyse(self, text: str, operation_name: str | None) -> OperationInputs | None:
        """None when the text does not parse (GraphQL reports that itself)."""
        try:
            document = parse_cached(text)
        except GraphQLError:
            return None
        operation = _select(document, operation_name)
        if isinstance(operation, InvalidInput):
            return OperationInputs(problem=operation)
        found = OperationInputs(
            declared=frozenset(d.variable.name.value for d in operation.variable_definitions or ())
        )
        for definition in operation.variable_definitions or ():
            if definition.default_value is not None:
                found.defaults[definition.variable.name.value] = value_from_ast_untyped(
                    definition.default_value
                )
        type_info = TypeInfo(self.schema)
        walker = TypeInfoVisitor(type_info, _Arguments(self, type_info, found))
        visit(operation, walker)
        for fragment in document.definitions:
            if isinstance(fragment, FragmentDefinitionNode):
                visit(fragment, walker)
        return found

    def literal(
        self,
        node: ValueNode,
        type_: GraphQLInputType,
        coordinate: str,
        path: str,
        found: OperationInputs,
    ) -> None:
        """Bounds of a literal value; where a variable sits in it, that variable's sink."""
        if isinstance(node, VariableNode):
            found.sinks.setdefault(node.name.value, []).append(Sink(coordinate, type_, path))
            return
        type_ = _unwrap(type_)
        bound = bound_of(coordinate)
        if isinstance(type_, GraphQLList):
            if not isinstance(node, ListValueNode):
                self.literal(node, type_.of_type, coordinate, path, found)
                return
            if bound.max_items is not None and len(node.values) > bound.max_items:
                _note(found, _too_many(path, bound.max_items))
            for i, item in enumerate(node.values):
                self.literal(item, type_.of_type, coordinate, f"{path}[{i}]", found)
        elif isinstance(type_, GraphQLInputObjectType):
            if isinstance(node, ObjectValueNode):
                for entry in node.fields:
                    name = entry.name.value
                    if (child := type_.fields.get(name)) is not None:
                        self.literal(
                            entry.value,
                            child.type,
                            f"{type_.name}.{name}",
                            _join(path, name),
                            found,
                        )
        elif isinstance(node, StringValueNode):
            _note(found, _leaf_problem(node.value, type_, bound, path))

    # -- per request --------------------------------------------------------

    def check(
        self, inputs: OperationInputs | None, variables: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any] | None, InvalidInput | None]:
        """(what the audit entry keeps of the variables, the first bound broken)."""
        problems: list[InvalidInput | None] = [inputs.problem if inputs is not None else None]
        given = dict(variables or {})
        if inputs is not None:
            for name, default in inputs.defaults.items():
                if name not in given:  # a default the execution will use: bounded the same
                    self._walk(default, inputs.sinks.get(name, []), problems)
        kept: dict[str, Any] = {}
        undeclared = 0
        for name, value in given.items():
            if inputs is None or name not in inputs.declared:
                undeclared += 1  # the execution never reads it: only counted
                continue
            kept[scrub_name(str(name))] = self._walk(value, inputs.sinks.get(name, []), problems)
        if not variables:
            return None, problems[0]
        if undeclared:
            kept[UNDECLARED] = undeclared
        return cap_variables(kept, key=self._key), problems[0]

    def _walk(self, value: Any, sinks: list[Sink], problems: list[InvalidInput | None]) -> Any:
        if not sinks:  # flows nowhere the schema names: nothing to keep
            return REDACTED
        seen = [
            self._value(value, s.type, bound_of(s.coordinate), s.coordinate, s.path, problems)
            for s in sinks
        ]
        return seen[0] if all(v == seen[0] for v in seen) else REDACTED

    def _value(
        self,
        value: Any,
        type_: GraphQLInputType,
        bound: Bound,
        coordinate: str,
        path: str,
        problems: list[InvalidInput | None],
    ) -> Any:
        type_ = _unwrap(type_)
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            items = value if isinstance(value, list) else [value]
            if bound.max_items is not None and len(items) > bound.max_items:
                _first(problems, _too_many(path, bound.max_items))
            kept = [
                self._value(v, type_.of_type, bound, coordinate, f"{path}[{i}]", problems)
                for i, v in enumerate(items)
            ][:MAX_KEPT_ITEMS]
            return kept if isinstance(value, list) else kept[0]
        if isinstance(type_, GraphQLInputObjectType):
            if not isinstance(value, dict):
                return REDACTED  # GraphQL's coercion refuses it by name
            out: dict[str, Any] = {}
            for name, item in value.items():
                child = type_.fields.get(name)
                if child is None:
                    continue  # not a field of the input: GraphQL's coercion names it
                key = scrub(str(name), MAX_NAME)
                where = f"{type_.name}.{name}"
                out[key] = self._value(
                    item, child.type, bound_of(where), where, _join(path, name), problems
                )
            return out
        if isinstance(value, str):
            _first(problems, _leaf_problem(value, type_, bound, path))
        if not bound.plain:
            return REDACTED
        if isinstance(value, str):
            return _kept_string(value, type_, bound)
        if isinstance(value, bool | int | float):
            return value
        return REDACTED


class _Arguments(Visitor):
    def __init__(self, rules: InputRules, type_info: TypeInfo, found: OperationInputs) -> None:
        super().__init__()
        self.rules, self.type_info, self.found = rules, type_info, found

    def enter_argument(
        self, node: ArgumentNode, _key: Any, _parent: Any, _path: Any, ancestors: Any
    ) -> Any:
        argument = self.type_info.get_argument()
        owner = next(
            (a for a in reversed(ancestors) if isinstance(a, FieldNode | DirectiveNode)), None
        )
        if argument is None or owner is None:
            return Visitor.SKIP  # not in the schema: validation names it
        name = node.name.value
        if isinstance(owner, DirectiveNode):
            coordinate = f"@{owner.name.value}({name}:)"
        else:
            parent = self.type_info.get_parent_type()
            coordinate = f"{parent.name if parent else '?'}.{owner.name.value}({name}:)"
        # an input object's fields are named from the object down, as callers write them
        path = "" if isinstance(_unwrap(argument.type), GraphQLInputObjectType) else name
        self.rules.literal(node.value, argument.type, coordinate, path, self.found)
        return Visitor.SKIP


def _select(document: DocumentNode, name: str | None) -> OperationDefinitionNode | InvalidInput:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        if len(operations) == 1:
            return operations[0]
        return InvalidInput(
            "operationName: name one of the operations in the document",
            field="operationName",
        )
    for operation in operations:
        if operation.name is not None and operation.name.value == name:
            return operation
    return InvalidInput(
        "operationName: no operation of that name in the document", field="operationName"
    )


def _kept_string(value: str, type_: GraphQLInputType, bound: Bound) -> str:
    """A string in a plain place, kept only when it has that place's format: a value
    that does not is not what the place holds, whatever it is (GraphQL may refuse it
    after this is recorded)."""
    if bound.well_formed is not None:  # codes, cursors, archive numbers: no free text
        return value if bound.well_formed(value) else REDACTED
    if isinstance(type_, GraphQLEnumType):
        return value if value in type_.values else REDACTED
    named = type_.name if isinstance(type_, GraphQLNamedType) else ""
    if named in _DATE_TYPES:
        return value if _DATE_TEXT.match(value) else REDACTED
    if named in _NUMBER_TYPES:
        return REDACTED  # a string where a number goes: refused by coercion, not kept
    return scrub(value)


def _leaf_problem(
    value: str, type_: GraphQLInputType, bound: Bound, path: str
) -> InvalidInput | None:
    named = type_.name if isinstance(type_, GraphQLNamedType) else ""
    if named in _TEXT_TYPES and bound.max_length is not None and len(value) > bound.max_length:
        return InvalidInput(f"{path}: at most {bound.max_length} characters", field=path)
    year = _YEAR.match(value) if named in _DATE_TYPES else None
    if year is not None and not MIN_YEAR <= int(year.group(1)) <= MAX_YEAR:
        return InvalidInput(
            f"{path}: a date between the years {MIN_YEAR} and {MAX_YEAR}", field=path
        )
    return None


def _too_many(path: str, limit: int) -> InvalidInput:
    return InvalidInput(f"{path}: at most {limit} items", field=path)


def _note(found: OperationInputs, problem: InvalidInput | None) -> None:
    if found.problem is None:
        found.problem = problem


def _first(problems: list[InvalidInput | None], problem: InvalidInput | None) -> None:
    if problems[0] is None:
        problems[0] = problem
