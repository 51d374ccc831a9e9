"""The query limits, measured on the parsed document before graphql-core validates it.

Validation is not linear: its overlapping-fields rule compares every pair of
fields that share a response key, so a few hundred repeated or aliased fields
cost seconds inside `validate()`. These counts need no schema: they walk the
syntax tree once, expanding fragments where they are spread (so a fragment
spread ten times counts ten times), and stop at the first limit exceeded, so
a refused document costs at most a bounded number of steps whatever its shape
(fragment cycles are skipped and left to validation to report; a fan-out of
fragments spreading fragments counts every step it takes).

The gateway's text scan (gateway/document_limits.py) counts lower bounds of the
same figures while it lexes, and refuses with the same error. The cost limit is
measured on the policy walk (policies/walk.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from policies.errors import GateError

MAX_TOKENS: Final = 2000  # the default; a text longer than the limit is not parsed


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 8
    max_aliases: int = 15
    max_tokens: int = MAX_TOKENS
    max_cost: int = 100_000
    # fields after fragments are expanded, and fields repeating a response key in
    # one selection set (validation compares those pairwise)
    max_fields: int = 500
    max_duplicates: int = 15
    # the query text itself, checked before it is read at all (trusted documents,
    # stored by the host, are exempt): an honest client's documents are small
    max_query_bytes: int = 32 * 1024


class Exceeded(Exception):
    def __init__(self, limit: str, allowed: int) -> None:
        super().__init__(limit)
        self.limit = limit
        self.allowed = allowed


class TooComplex(Exception):
    """A document refused by its size, before validation."""

    def __init__(self, error: GateError) -> None:
        super().__init__(error.message)
        self.error = error


class _Measure:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], limits: Limits) -> None:
        self.fragments = fragments
        self.limits = limits
        self.fields = 0
        self.aliases = 0
        self.duplicates = 0
        self.steps = 0
        self.reached: set[str] = set()

    def selection_set(self, node: SelectionSetNode, depth: int, spreading: frozenset[str]) -> None:
        if depth > self.limits.max_depth:
            raise Exceeded("depth", self.limits.max_depth)
        # one set of response keys per merged selection set, as validation merges them:
        # fields brought in by fragments at this level share it
        self._collect(node, depth, spreading, set())

    def _collect(
        self, node: SelectionSetNode, depth: int, spreading: frozenset[str], keys: set[str]
    ) -> None:
        limits = self.limits
        for selection in node.selections:
            # every step counts, fields or not: a fan-out of spreads is work too
            self.steps += 1
            if self.steps > 2 * limits.max_fields:
                raise Exceeded("fields", limits.max_fields)
            if isinstance(selection, FieldNode):
                self.fields += 1
                if self.fields > limits.max_fields:
                    raise Exceeded("fields", limits.max_fields)
                key = selection.name.value
                if selection.alias is not None:
                    key = selection.alias.value
                    self.aliases += 1
                    if self.aliases > limits.max_aliases:
                        raise Exceeded("aliases", limits.max_aliases)
                if key in keys:
                    # the pairs validation compares grow with the square of these
                    self.duplicates += 1
                    if self.duplicates > limits.max_duplicates:
                        raise Exceeded("duplicates", limits.max_duplicates)
                keys.add(key)
                if selection.selection_set is not None:
                    self.selection_set(selection.selection_set, depth + 1, spreading)
            elif isinstance(selection, InlineFragmentNode):
                self._collect(selection.selection_set, depth, spreading, keys)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spreading:
                    continue  # unknown or cyclic: validation says so, cheaply
                self.reached.add(name)
                self._collect(fragment.selection_set, depth, spreading | {name}, keys)


def measure(document: DocumentNode, limits: Limits) -> None:
    """Raises `Exceeded` at the first limit the document goes over."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    counter = _Measure(fragments, limits)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            counter.selection_set(definition.selection_set, 1, frozenset())
    # validation reads fragments nobody spreads as well: they count once, where defined
    for name, fragment in fragments.items():
        if name not in counter.reached:
            counter.selection_set(fragment.selection_set, 1, frozenset({name}))


def document_refusal(document: DocumentNode, limits: Limits) -> GateError | None:
    """QUERY_TOO_COMPLEX naming the first limit exceeded, or None."""
    try:
        measure(document, limits)
    except Exceeded as exceeded:
        return too_complex(exceeded.limit, exceeded.allowed)
    return None


def too_complex(limit: str, allowed: int) -> GateError:
    return GateError(
        f"Query too complex: {limit} exceed the limit of {allowed}.",
        "QUERY_TOO_COMPLEX",
        limit=limit,
    )
