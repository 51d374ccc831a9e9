"""Size limits on the document text, and validation after them (the hook into execution).

The limits themselves, measured on the parsed document, are policies/limits.py. Before
that, `read_text` lexes the text once (the gateway has already refused
a text over the byte cap unread): the same pass gives the audit's shape hash,
the key that parse and validation caches share, and lower bounds of the counts,
so most over-limit documents are refused without being parsed. Each later step
reuses what that pass and the shared parse found, instead of reading the text
again. Both the generic and the compiled read path call `document_refusal`
before they validate anything.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    GraphQLError,
    Source,
    TokenKind,
    print_ast,
)
from graphql.language import Lexer
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.documents import (
    DOCUMENT_CACHE,
    SHAPE,
    digest,
    key_parts,
    parse_cached,
    remember_token_key,
    shape_part,
    token_key,
)
from policies.errors import GateError
from policies.limits import Exceeded, Limits, document_refusal, too_complex


@dataclass(frozen=True, slots=True)
class TextFacts:
    """What the one lexing pass of a text found."""

    shape: str | None  # the audit's shape hash; None: the text is not GraphQL tokens
    refusal: GateError | None  # the first limit exceeded, or None


_NOT_KEYS = frozenset({TokenKind.AT, TokenKind.SPREAD, TokenKind.COLON})


def _scan(text: str, limits: Limits, shape: list[str]) -> str:
    """Lexes the text once: the shape (filled as it goes), the tokens' key
    (returned), and the counts, stopping at the first limit exceeded.

    The counts are lower bounds of what `measure` finds on the parsed document, so
    a text refused here would be refused there, only later and dearer:
    - a colon outside parentheses can only follow an alias;
    - a name inside a selection set, not after `@`, `...`, `... on` or an alias's
      colon, is a response key; a repeated key in one selection set (an inline
      fragment shares its parent's) is what validation compares pairwise;
    - fields written in fragments count once where written, not once per spread.
    """
    lexer = Lexer(Source(text))
    parts: list[str] = []
    tokens = aliases = fields = duplicates = parens = 0
    sets: list[set[str]] = []
    inline = False
    before = after_spread = TokenKind.SOF
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        tokens += 1
        if tokens > limits.max_tokens:
            raise Exceeded("tokens", limits.max_tokens)
        shape.append(shape_part(token))
        parts.append(key_parts(token))
        kind = token.kind
        if kind is TokenKind.PAREN_L:
            parens += 1
        elif kind is TokenKind.PAREN_R:
            parens -= 1
        elif parens > 0:
            pass  # arguments, variable definitions and their values
        elif kind is TokenKind.NAME:
            if before is TokenKind.SPREAD:
                inline = token.value == "on"
            elif sets and before not in _NOT_KEYS and after_spread is not TokenKind.SPREAD:
                fields += 1
                if fields > limits.max_fields:
                    raise Exceeded("fields", limits.max_fields)
                keys, name = sets[-1], token.value or ""
                if name in keys:
                    duplicates += 1
                    if duplicates > limits.max_duplicates:
                        raise Exceeded("duplicates", limits.max_duplicates)
                keys.add(name)
        elif kind is TokenKind.COLON:
            aliases += 1
            if aliases > limits.max_aliases:
                raise Exceeded("aliases", limits.max_aliases)
        elif kind is TokenKind.BRACE_L:
            sets.append(sets[-1] if inline and sets else set())
            inline = False
        elif kind is TokenKind.BRACE_R:
            if sets:
                sets.pop()
        elif kind is TokenKind.SPREAD:
            inline = True  # until a fragment's name says otherwise
        # `... on T`: T follows `on`, which follows the spread
        after_spread = before if kind is TokenKind.NAME and token.value == "on" else kind
        before = kind
        token = lexer.advance()
    return digest(parts)


@lru_cache(maxsize=DOCUMENT_CACHE)
def read_text(text: str, limits: Limits) -> TextFacts:
    """The text read once, remembered per text: shape hash, tokens' key and counts
    from one lexing pass, then the parsed document (shared by texts with the same
    tokens) measured. A text that is not GraphQL is not refused here: validation
    reports it in its usual place."""
    shape: list[str] = []
    try:
        key = _scan(text, limits, shape)
    except Exceeded as exceeded:
        # the shape of what was read is enough: reading on would cost per byte sent
        return TextFacts(
            digest([*shape, "..."], SHAPE), too_complex(exceeded.limit, exceeded.allowed)
        )
    except GraphQLError:
        return TextFacts(None, None)
    remember_token_key(text, key)
    try:
        document = parse_cached(text)
    except GraphQLError:
        return TextFacts(digest(shape, SHAPE), None)
    return TextFacts(digest(shape, SHAPE), document_refusal(document, limits))


validation_key = token_key  # the name the compiled path knows it by


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
            read_text(ctx.query, limits).refusal
            if ctx.query
            else document_refusal(document, limits)
        )
        if refusal is not None:
            ctx.pre_execution_errors = [refusal]
            yield
            return
        schema = ctx.schema._schema
        rules = tuple(ctx.validation_rules)
        key = (id(schema), rules, token_key(ctx.query) if ctx.query else print_ast(document))
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
