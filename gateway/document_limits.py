"""Size limits measured on the parsed document, before graphql-core validates it.

Validation is not linear: its overlapping-fields rule compares every pair of
fields that share a response key, so a few hundred repeated or aliased fields
cost seconds inside `validate()`. These counts need no schema: they walk the
syntax tree once, expanding fragments where they are spread (so a fragment
spread ten times counts ten times), and stop at the first limit exceeded, so
a refused document costs at most a bounded number of steps whatever its shape
(fragment cycles are skipped and left to validation to report; a fan-out of
fragments spreading fragments counts every step it takes).

Both the generic and the compiled read path call `document_refusal` before
they validate anything.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    print_ast,
)
from graphql.language import Lexer
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.documents import DOCUMENT_CACHE, parse_cached
from gateway.policy_gate import GateError, Limits


class _Exceeded(Exception):
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
            raise _Exceeded("depth", self.limits.max_depth)
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
                raise _Exceeded("fields", limits.max_fields)
            if isinstance(selection, FieldNode):
                self.fields += 1
                if self.fields > limits.max_fields:
                    raise _Exceeded("fields", limits.max_fields)
                key = selection.name.value
                if selection.alias is not None:
                    key = selection.alias.value
                    self.aliases += 1
                    if self.aliases > limits.max_aliases:
                        raise _Exceeded("aliases", limits.max_aliases)
                if key in keys:
                    # the pairs validation compares grow with the square of these
                    self.duplicates += 1
                    if self.duplicates > limits.max_duplicates:
                        raise _Exceeded("duplicates", limits.max_duplicates)
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
    """Raises `_Exceeded` at the first limit the document goes over."""
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
    except _Exceeded as exceeded:
        return too_complex(exceeded.limit, exceeded.allowed)
    return None


def scan(text: str, limits: Limits) -> None:
    """Tokens and aliases, read off the token stream before anything is parsed.

    Outside parentheses (arguments, variable definitions, directive arguments)
    a colon can only follow an alias, so this counts the aliases written in the
    text: a lower bound of the expanded count, enough to stop the documents
    that cost most, for the price of lexing up to the first limit exceeded.
    """
    lexer = Lexer(Source(text))
    tokens = aliases = parens = 0
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        tokens += 1
        if tokens > limits.max_tokens:
            raise _Exceeded("tokens", limits.max_tokens)
        kind = token.kind
        if kind is TokenKind.PAREN_L:
            parens += 1
        elif kind is TokenKind.PAREN_R:
            parens -= 1
        elif kind is TokenKind.COLON and parens <= 0:
            aliases += 1
            if aliases > limits.max_aliases:
                raise _Exceeded("aliases", limits.max_aliases)
        token = lexer.advance()


@lru_cache(maxsize=DOCUMENT_CACHE)
def text_refusal(text: str, limits: Limits) -> GateError | None:
    """The refusal of a text over a limit, or None, remembered per text: first the
    token stream, then the parsed document. A text that is not GraphQL is not
    refused here: validation reports it in its usual place."""
    try:
        scan(text, limits)
        document = parse_cached(text)
    except _Exceeded as exceeded:
        return too_complex(exceeded.limit, exceeded.allowed)
    except GraphQLError:
        return None
    return document_refusal(document, limits)


def too_complex(limit: str, allowed: int) -> GateError:
    return GateError(
        f"Query too complex: {limit} exceed the limit of {allowed}.",
        "QUERY_TOO_COMPLEX",
        limit=limit,
    )


@lru_cache(maxsize=DOCUMENT_CACHE)
def validation_key(text: str) -> str:
    """The document as validation sees it: its tokens, without comments, whitespace
    or commas. Lexing alone is cheaper than printing the parsed tree again."""
    lexer = Lexer(Source(text))
    digest = hashlib.sha256()
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        value = token.value or ""
        # length-prefixed: `"a b"` and `"a" "b"` must not read alike
        digest.update(f"{token.kind.value}{len(value)}:{value}".encode())
        token = lexer.advance()
    return digest.hexdigest()


_VALIDATED: OrderedDict[tuple[int, tuple[type[ASTValidationRule], ...], str], list[GraphQLError]]
_VALIDATED = OrderedDict()


class CheckedValidation(SchemaExtension):
    """Limits first, then validation cached on the document's tokens.

    A document over a limit is refused here and never validated. Strawberry's own
    cache keys on the raw text, so a fresh comment made every request a new
    validation; this one keys on the tokens.
    """

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        assert document is not None
        limits: Limits = ctx.context.gate.limits
        refusal = (
            text_refusal(ctx.query, limits) if ctx.query else document_refusal(document, limits)
        )
        if refusal is not None:
            ctx.pre_execution_errors = [refusal]
            yield
            return
        schema = ctx.schema._schema
        rules = tuple(ctx.validation_rules)
        key = (id(schema), rules, validation_key(ctx.query) if ctx.query else print_ast(document))
        errors = _VALIDATED.get(key)
        if errors is None:
            errors = validate_document(schema, document, rules)
            _VALIDATED[key] = errors
            if len(_VALIDATED) > DOCUMENT_CACHE:
                _VALIDATED.popitem(last=False)
        else:
            _VALIDATED.move_to_end(key)
        ctx.pre_execution_errors = errors
        yield
