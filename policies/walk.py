"""The per-operation policy walk: one walk of the validated operation decides every field.

After validation and before any resolver runs, the operation (fragments,
inline fragments and aliases included) is walked against the schema. Each
distinct `Type.field` is decided once through the policy engine; the cost limit
is measured on the same walk (size limits ran before validation, in
policies/limits.py). A denied field fails the
whole operation with FORBIDDEN naming the fields; a masked field is resolved
and then masked in the result by the plan the walk built. Resolvers never see
roles. The gateway hooks this into execution (gateway/policy_gate.py) and the
compiled read path calls it directly (gateway/compiled.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    value_from_ast_untyped,
)

from domain import bounds
from domain.archive import ARCHIVE_NO_RE
from policies.arguments import filtered_field
from policies.bounds import MAX_PAGE, PAGE, Pricing
from policies.engine import Decision
from policies.errors import GateError
from policies.limits import Limits
from policies.masking import MASKERS

ARCHIVE_ARGUMENT = "archiveNo"
# fields where archiveNo filters the audit log rather than naming a household accessed
ARCHIVE_FILTERS = frozenset({"Query.auditEvents"})
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
INTROSPECTION_OBJECT = "Schema.introspection"  # policy object for reading the schema itself
LOOKUP_FIELDS = frozenset({"Query.verifyRecipient"})  # what counts as a lookup (gateway/quota.py)
# fields that are a lookup only when this argument is given: an auditor's search by ID
# number answers "was this person ever looked up or claimed", an oracle like the others
LOOKUP_ARGUMENTS = {"Query.auditEvents": "lookedUpIdNumber"}
# fields that take a batch: (argument, price of one item's writes, items per call). Each
# item is priced as its writes (a finding per member), so a batch of 500 answers costs
# in the cost model what 500 single answers cost; for the rate limit every 25 answers
# (or part) are a call, as a page of 50 households is one, so the shipped partner
# burst admits a department's batch of 500 and a flood of batches still runs dry
BATCH_ARGUMENTS = {"Mutation.answerVerifications": ("answers", bounds.MEMBERS, 25)}


@dataclass
class PlanNode:
    mask: Callable[[str], str] | None = None
    children: dict[str, PlanNode] = field(default_factory=dict)

    def has_masks(self) -> bool:
        return self.mask is not None or any(c.has_masks() for c in self.children.values())


@dataclass
class Analysis:
    """What the walk found: decisions per field, limits measured, the mask plan."""

    operation_type: str
    operation_name: str | None
    decisions: dict[str, Decision] = field(default_factory=dict)
    plan: dict[str, PlanNode] = field(default_factory=dict)
    cost: int = 0
    introspection: bool = False
    # archive numbers named in arguments: a refused request is still about them
    archive_arguments: set[str] = field(default_factory=set)
    # root field calls by `Type.field`, each alias and each fragment use a call:
    # what the rate limit and the lookup quotas charge
    root_calls: dict[str, int] = field(default_factory=dict)
    # fields used as filter arguments that the caller may not read in clear
    denied_filters: set[str] = field(default_factory=set)
    # answers about a full ID number the operation asks for (gateway/quota.py); claims
    # checked by mutations are charged by their resolvers, where the count is known
    lookups: int = 0
    # the calls of batch arguments beyond the first of each (BATCH_ARGUMENTS), charged
    # though the one-mutation-per-request rule counts fields
    batch_items: int = 0

    @property
    def calls(self) -> int:
        return sum(self.root_calls.values())

    @property
    def charged_calls(self) -> int:
        return self.calls + self.batch_items

    @property
    def denied(self) -> list[str]:
        refused = {k for k, v in self.decisions.items() if v is Decision.DENIED}
        return sorted(refused | self.denied_filters)


Decide = Callable[[str, bool], Decision]
# Charges a walked operation's calls (rate limit, lookup quotas): None when they
# are covered, else the refusal. Passed in by the gateway, run once per request.
Charge = Callable[[Analysis], GateError | None]


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        decide: Decide,
        limits: Limits,
        pricing: Pricing,
        analysis: Analysis,
        defaults: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.decide = decide
        self.limits = limits
        self.costs = pricing.costs
        self.bounds = pricing.bounds
        self.analysis = analysis

    def walk(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLObjectType,
        plan: dict[str, PlanNode],
        *,
        depth: int,
        multiplier: int,
        root_write: bool,
        page: int = 1,
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, plan, depth, multiplier, root_write, page)
                continue
            # a fragment is walked where it is spread, so limits count every use
            fragment = (
                self.fragments[selection.name.value]
                if isinstance(selection, FragmentSpreadNode)
                else selection
            )
            assert isinstance(fragment, InlineFragmentNode | FragmentDefinitionNode)
            self.walk(
                fragment.selection_set,
                self._condition(fragment.type_condition, parent),
                plan,
                depth=depth,
                multiplier=multiplier,
                root_write=root_write,
                page=page,
            )

    def _condition(self, condition: Any, parent: GraphQLObjectType) -> GraphQLObjectType:
        if condition is None:
            return parent
        named = self.schema.get_type(condition.name.value)
        if not isinstance(named, GraphQLObjectType):
            # every type a caller can reach here is an object type; anything
            # abstract would need its own policy story, so refuse it outright
            raise GateError("Abstract type conditions are not supported.", "BAD_USER_INPUT")
        return named

    def _field(
        self,
        node: FieldNode,
        parent: GraphQLObjectType,
        plan: dict[str, PlanNode],
        depth: int,
        multiplier: int,
        root_write: bool,
        page: int,
    ) -> None:
        name = node.name.value
        if name == "__typename":
            return
        analysis = self.analysis
        obj = f"{parent.name}.{name}"
        # every call costs 1, an aggregate over a scope its declared price (schema/pricing.py)
        analysis.cost += multiplier * (1 + self.costs.get(obj, 0))
        if depth == 1:
            analysis.root_calls[obj] = analysis.root_calls.get(obj, 0) + 1
            if obj in LOOKUP_FIELDS or self._looks_up(node, obj):
                analysis.lookups += 1
            if obj in BATCH_ARGUMENTS:
                argument, item_cost, per_call = BATCH_ARGUMENTS[obj]
                items = self._items(node, argument)
                analysis.batch_items += max(0, -(-items // per_call) - 1)
                analysis.cost += multiplier * items * item_cost
        if name in INTROSPECTION_FIELDS:
            analysis.introspection = True
            return
        archive_no = self._argument(node, ARCHIVE_ARGUMENT)
        if (
            isinstance(archive_no, str)
            and obj not in ARCHIVE_FILTERS
            and ARCHIVE_NO_RE.match(archive_no)
        ):
            # only a well-formed number names a household; anything else is not kept
            analysis.archive_arguments.add(archive_no)
        decision = analysis.decisions.get(obj)
        if decision is None:
            decision = self.decide(obj, root_write)
            analysis.decisions[obj] = decision
        self._filters(node, obj)
        key = node.alias.value if node.alias else name
        entry = plan.setdefault(key, PlanNode())
        if decision is Decision.MASKED:
            entry.mask = MASKERS[obj]
        if node.selection_set is None:
            return
        definition = parent.fields[name]
        inner = _named(definition.type)
        if not isinstance(inner, GraphQLObjectType):
            raise GateError("Abstract result types are not supported.", "BAD_USER_INPUT")
        child_page = 1
        if "first" in definition.args and inner.name.endswith("Connection"):
            # priced at the page the resolver will fetch: the variable's value, else
            # the variable's default, else the argument's own default
            size = 1
            default = definition.args["first"].default_value
            first = self._int_argument(node, "first", default)
            if not 0 <= first <= MAX_PAGE:  # as every connection resolver refuses it
                raise GateError(f"first: between 0 and {MAX_PAGE}", "BAD_USER_INPUT", field="first")
            child_page = max(1, first)
        else:
            size = self._list_size(obj, definition.type, page)
        self.walk(
            node.selection_set,
            inner,
            entry.children,
            depth=depth + 1,
            multiplier=multiplier * size,
            root_write=False,
            page=child_page,
        )

    def _filters(self, node: FieldNode, obj: str) -> None:
        """A filter argument needs its field readable in clear (policies/arguments.py)."""
        for argument in node.arguments or ():
            filtered = filtered_field(obj, argument.name.value)
            if filtered is None or not self._given(argument.value):
                continue
            decisions = self.analysis.decisions
            decision = decisions.get(filtered)
            if decision is None:
                decision = decisions[filtered] = self.decide(filtered, False)
            if decision is not Decision.CLEAR:
                self.analysis.denied_filters.add(filtered)

    def _looks_up(self, node: FieldNode, obj: str) -> bool:
        argument = LOOKUP_ARGUMENTS.get(obj)
        return argument is not None and any(
            a.name.value == argument and self._given(a.value) for a in node.arguments or ()
        )

    def _given(self, value: ValueNode) -> bool:
        """Whether an argument filters at all: a null, or a variable left out, does not."""
        if isinstance(value, NullValueNode):
            return False
        if isinstance(value, VariableNode):
            name = value.name.value
            if name in self.variables:
                return self.variables[name] is not None
            return self.defaults.get(name) is not None  # left out: its default, if any
        return True

    def _list_size(self, obj: str, type_: GraphQLOutputType, page: int) -> int:
        while isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if not isinstance(type_, GraphQLList):
            return 1
        bound = self.bounds.get(obj)
        if bound is None:  # a list nobody declared: priced as the largest page
            return MAX_PAGE
        return page if bound == PAGE else bound

    def _argument(self, node: FieldNode, name: str) -> Any:
        """An argument's value, literal or from a variable (None when absent)."""
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                variable = value.name.value
                if variable in self.variables:
                    return self.variables[variable]
                return self.defaults.get(variable)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, StringValueNode):
                return value.value
        return None

    def _items(self, node: FieldNode, name: str) -> int:
        """How many items a list argument holds (a single value is a list of one)."""
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                variable = value.name.value
                found = self.variables.get(variable, self.defaults.get(variable))
                if found is None:
                    return 0
                return len(found) if isinstance(found, list) else 1
            if isinstance(value, ListValueNode):
                return len(value.values)
            return 0 if isinstance(value, NullValueNode) else 1
        return 0

    def _int_argument(self, node: FieldNode, name: str, default: Any) -> int:
        for found in (self._argument(node, name), default):
            if isinstance(found, int) and not isinstance(found, bool):
                return found
        return MAX_PAGE  # nothing known: priced as the largest page


def _named(type_: GraphQLOutputType) -> GraphQLNamedType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if name is None or (operation.name is not None and operation.name.value == name):
            return operation
    raise GateError("Unknown operation.", "BAD_USER_INPUT")


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    decide: Decide,
    limits: Limits,
    pricing: Pricing,
) -> Analysis:
    operation = select_operation(document, operation_name)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    is_mutation = operation.operation is OperationType.MUTATION
    root = schema.mutation_type if is_mutation else schema.query_type
    if root is None:
        raise GateError("Operation type not supported.", "BAD_USER_INPUT")
    analysis = Analysis(
        operation_type=operation.operation.value,
        operation_name=operation.name.value if operation.name else None,
    )
    # a variable the request leaves out takes its declared default
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    walker = _Walker(
        schema, fragments, variables or {}, decide, limits, pricing, analysis, defaults
    )
    walker.walk(
        operation.selection_set,
        root,
        analysis.plan,
        depth=1,
        multiplier=1,
        root_write=is_mutation,
    )
    analysis.plan = {k: v for k, v in analysis.plan.items() if v.has_masks()}
    if is_mutation and analysis.calls > 1:
        # each mutation commits or rolls back alone: paired with a field that fails on
        # purpose, a write becomes a question whose side effects are undone
        raise GateError(
            "Send one mutation field per request: this operation has "
            f"{analysis.calls} (aliases and fragment uses included).",
            "BAD_USER_INPUT",
        )
    return analysis


def limit_error(analysis: Analysis, limits: Limits) -> GateError | None:
    """The cost limit; depth, aliases, fields and tokens were measured before
    validation (policies/limits.py)."""
    if analysis.cost > limits.max_cost:
        return GateError(
            f"Query too complex: cost {analysis.cost} exceeds the limit of {limits.max_cost}.",
            "QUERY_TOO_COMPLEX",
            limit="cost",
        )
    return None


def apply_masks(data: Any, plan: Mapping[str, PlanNode]) -> None:
    """Replace masked values in place, following response keys (aliases included)."""
    if isinstance(data, list):
        for item in data:
            apply_masks(item, plan)
        return
    if not isinstance(data, dict):
        return
    for key, node in plan.items():
        value = data.get(key)
        if value is None:
            continue
        if node.mask is not None and isinstance(value, str):
            data[key] = node.mask(value)
        elif node.children:
            apply_masks(value, node.children)
