"""The compiled read path: the two reads partners and front ends run all day — a page
of households and one household by archive number, with their members — answered
without generic GraphQL execution.

A document is compiled once per distinct text (and operation name) into a plan:
the root field, its arguments, and for each selection set the response keys in
order with a direct getter per field. Anything the plan does not cover — another
root field, fragments, directives, `region`/`categories`/`reviews` and other nested
lists, a repeated response key — compiles to nothing and the generic executor
answers, as it does whenever the compiled path is switched off.

Every guarantee stays where it is, shared with the generic path:
- the same parse cache, validation and token limit decide whether the document is
  well-formed (the compiler only accepts documents that validate);
- the same policy walk (`RequestGate.admit`) decides every field; a refusal, a limit or an
  input the resolvers would reject (bad archive number, cursor, page size) is left
  to the generic path, which answers it with its own error;
- region scope goes into the SQL `WHERE` by the same clauses (`store.households`);
- masking is applied by the same plan and function (`apply_masks`);
- each field is read off its row and serialised by the table the Strawberry types
  read (`schema/columns.py`), and pages by the same `page_size` and `page_info`;
- the gateway writes the same audit entry from the same analysis and touched set.
`tests/api/test_compiled_path.py` runs a corpus through both paths and compares
bodies and audit entries; the authorization matrix runs on both.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from opentelemetry import trace
from strawberry.utils.str_converters import to_camel_case

from domain.archive import parse_archive_no
from domain.bounds import page_size
from domain.errors import DomainError
from domain.region import validate_scope
from gateway.context import RequestContext
from gateway.document_limits import validation_key
from gateway.documents import parse_cached
from policies.errors import GateError
from policies.limits import Limits, document_refusal
from policies.walk import apply_masks
from schema.columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_SECRETS,
    MEMBER_COLUMNS,
    MEMBER_SECRETS,
    Column,
    Secret,
)
from schema.connections import PageInfo, page_info
from store import households as store
from store.crypto import Cipher
from store.fastread import FastReader
from store.households import HouseholdFilter, encode_cursor

log = logging.getLogger("dibao.compiled")
PLAN_CACHE = 1024
ATTR_EXECUTION = "dibao.execution"

Row = Any  # a row of households or members, by column name
Getter = Callable[[Row, Cipher], Any]
Field = tuple[tuple[str, ...], Getter]  # the columns a field reads, and how


def _getter(spec: Column) -> Field:
    name, convert = spec.column, spec.serialised
    if convert is None:
        return (name,), lambda r, _: r[name]
    return (name,), lambda r, _: convert(r[name])


def _opener(secret: Secret) -> Field:
    stored, row_id, open_ = secret.stored, secret.row_id, secret.open

    def get(row: Row, cipher: Cipher) -> str | None:
        return open_(row[stored], row[row_id], cipher)

    return (stored, row_id), get


def _fields(columns: Mapping[str, Column], secrets: Mapping[str, Secret]) -> dict[str, Field]:
    """Getters by GraphQL name, from the table the Strawberry types read (schema/columns.py):
    each gives exactly what the generic path serialises the field to."""
    fields = {to_camel_case(name): _getter(spec) for name, spec in columns.items()}
    fields.update({to_camel_case(name): _opener(s) for name, s in secrets.items()})
    return fields


HOUSEHOLD_FIELDS: dict[str, Field] = _fields(HOUSEHOLD_COLUMNS, HOUSEHOLD_SECRETS)
MEMBER_FIELDS: dict[str, Field] = _fields(MEMBER_COLUMNS, MEMBER_SECRETS)
# PageInfo's GraphQL names and attributes, read off the type the generic path returns:
# both paths build it with the same `page_info`
PAGE_INFO_FIELDS: dict[str, str] = {
    to_camel_case(f.python_name): f.python_name
    for f in PageInfo.__strawberry_definition__.fields  # type: ignore[attr-defined]
}


class NotCompilable(Exception):
    """The document is outside what the compiled path covers (not an error)."""


# A selection set compiles to entries, in response order:
# ("value", key, getter) | ("typename", key, type name) | ("members", key, entries)
# and for a connection ("edges", key, entries) | ("node", key, entries) |
# ("cursor", key, None) | ("pageInfo", key, field names) | ("totalCount", key, None).
Entry = tuple[str, str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    root: str  # "household" | "households"
    key: str  # the root field's response key
    field_node: FieldNode
    field_def: GraphQLField
    operation: OperationDefinitionNode
    document: DocumentNode
    entries: tuple[Entry, ...]
    household_columns: tuple[str, ...]
    member_columns: tuple[str, ...]  # empty: no members selected (else one statement)
    total_count: bool


def _keys(selection_set: SelectionSetNode) -> list[tuple[str, FieldNode]]:
    found: list[tuple[str, FieldNode]] = []
    seen: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise NotCompilable("fragments and directives take the generic path")
        key = selection.alias.value if selection.alias else selection.name.value
        if key in seen:
            raise NotCompilable("a repeated response key takes the generic path")
        seen.add(key)
        found.append((key, selection))
    return found


def _leaf(node: FieldNode) -> None:
    if node.selection_set is not None or node.arguments:
        raise NotCompilable(node.name.value)


@dataclass
class _Columns:
    households: set[str] = field(default_factory=lambda: {"archive_no"})
    members: set[str] = field(default_factory=set)


def _object(
    selection_set: SelectionSetNode | None,
    fields: Mapping[str, Field],
    type_name: str,
    columns: _Columns,
) -> list[Entry]:
    if selection_set is None:
        raise NotCompilable(type_name)
    entries: list[Entry] = []
    wanted = columns.households if type_name == "Household" else columns.members
    for key, node in _keys(selection_set):
        name = node.name.value
        if name == "__typename":
            entries.append(("typename", key, type_name))
        elif name in fields:
            _leaf(node)
            needs, getter = fields[name]
            wanted.update(needs)
            entries.append(("value", key, getter))
        elif type_name == "Household" and name == "members" and not node.arguments:
            columns.members.add("archive_no")
            inner = _object(node.selection_set, MEMBER_FIELDS, "Member", columns)
            entries.append(("members", key, tuple(inner)))
        else:
            raise NotCompilable(f"{type_name}.{name}")
    return entries


def _connection(
    selection_set: SelectionSetNode | None, columns: _Columns
) -> tuple[list[Entry], bool]:
    if selection_set is None:
        raise NotCompilable("HouseholdConnection")
    entries: list[Entry] = []
    total = False
    for key, node in _keys(selection_set):
        name = node.name.value
        if name == "__typename":
            entries.append(("typename", key, "HouseholdConnection"))
        elif name == "totalCount":
            _leaf(node)
            entries.append(("totalCount", key, None))
            total = True
        elif name == "pageInfo" and node.selection_set is not None:
            info: list[Entry] = []
            for info_key, info_node in _keys(node.selection_set):
                info_name = info_node.name.value
                if info_name == "__typename":
                    info.append(("typename", info_key, "PageInfo"))
                elif info_name in PAGE_INFO_FIELDS:
                    _leaf(info_node)
                    info.append(("info", info_key, info_name))
                else:
                    raise NotCompilable(f"PageInfo.{info_name}")
            entries.append(("pageInfo", key, tuple(info)))
        elif name == "edges" and node.selection_set is not None:
            edge: list[Entry] = []
            for edge_key, edge_node in _keys(node.selection_set):
                edge_name = edge_node.name.value
                if edge_name == "__typename":
                    edge.append(("typename", edge_key, "HouseholdEdge"))
                elif edge_name == "cursor":
                    _leaf(edge_node)
                    edge.append(("cursor", edge_key, None))
                elif edge_name == "node":
                    inner = _object(edge_node.selection_set, HOUSEHOLD_FIELDS, "Household", columns)
                    edge.append(("node", edge_key, tuple(inner)))
                else:
                    raise NotCompilable(f"HouseholdEdge.{edge_name}")
            entries.append(("edges", key, tuple(edge)))
        else:
            raise NotCompilable(f"HouseholdConnection.{name}")
    return entries, total


ROOT_ARGUMENTS = {"household": {"archiveNo"}, "households": {"first", "after", "region"}}


def compile_plan(
    schema: GraphQLSchema,
    text: str,
    operation_name: str | None,
    *,
    limits: Limits,
) -> Plan | None:
    """A plan for a valid document the compiled path covers, else None."""
    try:
        document = parse_cached(text)  # the parse the generic path shares
    except GraphQLError:
        return None
    # the generic path's own limits, before validation: it gives the refusal
    if document_refusal(document, limits) is not None or validate(schema, document):
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(document.definitions) != len(operations):
        return None  # fragments: generic path
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name is not None and o.name.value == operation_name)
    ]
    if len(chosen) != 1 or (operation_name is None and len(operations) != 1):
        return None
    operation = chosen[0]
    if operation.operation is not OperationType.QUERY or operation.directives:
        return None
    try:
        (key, node), *rest = _keys(operation.selection_set)
        if rest:
            return None
        root = node.name.value
        allowed = ROOT_ARGUMENTS.get(root)
        if allowed is None or {a.name.value for a in node.arguments or ()} - allowed:
            return None
        assert schema.query_type is not None
        field_def = schema.query_type.fields[root]
        columns = _Columns()
        if root == "household":
            entries = _object(node.selection_set, HOUSEHOLD_FIELDS, "Household", columns)
            total = False
        else:
            entries, total = _connection(node.selection_set, columns)
    except NotCompilable:
        return None
    return Plan(
        root=root,
        key=key,
        field_node=node,
        field_def=field_def,
        operation=operation,
        document=document,
        entries=tuple(entries),
        household_columns=tuple(sorted(columns.households)),
        member_columns=tuple(sorted(columns.members)),
        total_count=total,
    )


class Fallback(Exception):
    """This request takes the generic path (which gives the answer or the error)."""


def _build(entries: Sequence[Entry], row: Row, members: Mapping[str, list[Row]], c: Cipher) -> Any:
    out: dict[str, Any] = {}
    for kind, key, arg in entries:
        if kind == "value":
            out[key] = arg(row, c)
        elif kind == "typename":
            out[key] = arg
        else:  # members
            out[key] = [_build(arg, m, members, c) for m in members.get(row["archive_no"], ())]
    return out


class CompiledReads:
    def __init__(self, schema: GraphQLSchema, reader: FastReader, tracer: trace.Tracer) -> None:
        self.schema = schema
        self.reader = reader
        self.tracer = tracer
        self._plans: OrderedDict[tuple[str, str | None, Limits], Plan | None] = OrderedDict()

    def plan(self, text: str, operation_name: str | None, limits: Limits) -> Plan | None:
        """The cached plan for this text (parsed and validated once), or None."""
        try:
            tokens = validation_key(text)  # comments and spacing do not make a new plan
        except GraphQLError:
            return None
        key = (tokens, operation_name, limits)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        # a span only where work is done: parsing, validating and planning a new text
        with self.tracer.start_as_current_span("graphql.parse") as span:
            span.set_attribute(ATTR_EXECUTION, "compiled")
            found = compile_plan(self.schema, text, operation_name, limits=limits)
        self._plans[key] = found
        if len(self._plans) > PLAN_CACHE:
            self._plans.popitem(last=False)
        return found

    async def execute(
        self, plan: Plan, ctx: RequestContext, variables: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """The `data` of the response, or None: the generic path answers instead."""
        # no span of its own: the request's span says which path answered
        span = ctx.gate.span
        span.set_attribute(ATTR_EXECUTION, "compiled")
        try:
            return await self._execute(plan, ctx, variables)
        except Fallback:
            pass
        except Exception as exc:  # the generic path meets the same fault, reports it its way
            # the class only: a driver's message can quote a value
            log.warning("compiled path failed (%s); the generic path answers", type(exc).__name__)
        span.set_attribute(ATTR_EXECUTION, "fallback")
        ctx.gate.analysis = None
        ctx.touched.clear()
        return None

    async def _execute(
        self, plan: Plan, ctx: RequestContext, variables: dict[str, Any] | None
    ) -> dict[str, Any]:
        gate = ctx.gate
        # the variables' turn (no span: the request's says which path answered)
        coerced = get_variable_values(
            self.schema, plan.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):
            raise Fallback
        args = get_argument_values(plan.field_def, plan.field_node, coerced)
        try:
            analysis, refusal = gate.admit(
                self.schema,
                plan.document,
                operation_name=plan.operation.name.value if plan.operation.name else None,
                variables=variables,
            )
        except GateError:
            raise Fallback from None
        if refusal is not None:  # charged once; the generic path answers the refusal
            raise Fallback
        try:
            if plan.root == "household":
                value = await self._household(plan, ctx, args)
            else:
                value = await self._households(plan, ctx, args)
        except DomainError:
            raise Fallback from None
        gate.analysis = analysis
        data = {plan.key: value}
        if analysis.plan:
            apply_masks(data, analysis.plan)
        return data

    async def _household(self, plan: Plan, ctx: RequestContext, args: dict[str, Any]) -> Any:
        archive_no = args["archiveNo"]
        parse_archive_no(archive_no)
        scope = ctx.principal.scope
        async with self.reader.connect() as reads:
            row = await store.household_row(
                reads, columns=plan.household_columns, scope=scope, archive_no=archive_no
            )
            if row is None:
                return None
            members = (
                await store.active_member_rows(
                    reads, columns=plan.member_columns, scope=scope, archive_nos=[archive_no]
                )
                if plan.member_columns
                else {}
            )
        ctx.touched.add(row["archive_no"])
        return _build(plan.entries, row, members, ctx.cipher)

    async def _households(self, plan: Plan, ctx: RequestContext, args: dict[str, Any]) -> Any:
        size = page_size(args.get("first"))  # refused: the generic path says why
        region = args.get("region")
        after = args.get("after")
        flt = HouseholdFilter(
            scope=ctx.principal.scope,
            region=validate_scope(region, field="region") if region else None,
        )
        async with self.reader.connect() as reads:
            rows, has_next = await store.page_household_rows(
                reads,
                columns=plan.household_columns,
                flt=flt,
                first=size,
                after=after,
                today=ctx.today,
            )
            members = (
                await store.active_member_rows(
                    reads,
                    columns=plan.member_columns,
                    scope=flt.scope,
                    archive_nos=[r["archive_no"] for r in rows],
                )
                if plan.member_columns and rows
                else {}
            )
            total = (
                await store.count_household_rows(reads, flt=flt, today=ctx.today)
                if plan.total_count
                else None
            )
        ctx.touched.update(r["archive_no"] for r in rows)
        cursors = [encode_cursor(r["archive_no"]) for r in rows]
        info = page_info(cursors, has_next=has_next, after=after)
        out: dict[str, Any] = {}
        for kind, key, arg in plan.entries:
            if kind == "typename":
                out[key] = arg
            elif kind == "totalCount":
                out[key] = total
            elif kind == "pageInfo":
                out[key] = {
                    k: (getattr(info, PAGE_INFO_FIELDS[a]) if t == "info" else a) for t, k, a in arg
                }
            else:  # edges
                out[key] = [
                    self._edge(arg, row, cursor, members, ctx.cipher)
                    for row, cursor in zip(rows, cursors, strict=True)
                ]
        return out

    @staticmethod
    def _edge(
        entries: Sequence[Entry],
        row: Row,
        cursor: str,
        members: Mapping[str, list[Row]],
        cipher: Cipher,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, key, arg in entries:
            if kind == "typename":
                out[key] = arg
            elif kind == "cursor":
                out[key] = cursor
            else:  # node
                out[key] = _build(arg, row, members, cipher)
        return out
