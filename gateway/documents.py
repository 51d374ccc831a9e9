"""Trusted documents (as Hasura's allow-lists and Apollo's safelists): a credential

may be bound to approved operations, identified by the SHA-256 of their
normalized text; such a caller may send the document or only its id.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import TypeVar

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    Source,
    Token,
    TokenKind,
    parse,
    print_ast,
    visit,
)
from graphql.language import Lexer, Visitor
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import SchemaExtension

from domain.errors import InvalidInput
from policies.limits import MAX_TOKENS
from store.models import TrustedDocument

PREFIX = "sha256:"


def normalize(document: str | DocumentNode) -> str:
    """Canonical text of a document: whitespace, commas and comments do not matter."""
    node = parse(document) if isinstance(document, str) else document
    return print_ast(node)


def document_id(normalized: str) -> str:
    return PREFIX + hashlib.sha256(normalized.encode()).hexdigest()


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.add(node.name.value)


def split_operations(text: str) -> list[str]:
    """Each operation of a file as a standalone normalized document (with its fragments)."""
    try:
        document = parse(text)
    except GraphQLError as exc:
        raise InvalidInput(f"documents: not GraphQL ({exc.message})", field="documents") from None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        raise InvalidInput("documents: the file holds no operation", field="documents")
    result = []
    for operation in operations:
        needed: dict[str, FragmentDefinitionNode] = {}
        pending = [operation]
        while pending:
            spreads = _Spreads()
            visit(pending.pop(), spreads)
            for name in sorted(spreads.names - needed.keys()):
                if name not in fragments:
                    raise InvalidInput(
                        f"documents: fragment {name} is not defined", field="documents"
                    )
                needed[name] = fragments[name]
                pending.append(fragments[name])  # type: ignore[arg-type]
        standalone = DocumentNode(definitions=(operation, *needed.values()))
        result.append(normalize(standalone))
    return result


_LITERALS = frozenset({TokenKind.STRING, TokenKind.BLOCK_STRING, TokenKind.INT, TokenKind.FLOAT})


DOCUMENT_CACHE = 1024  # distinct document texts remembered per process

K = TypeVar("K")
V = TypeVar("V")


class Recent(OrderedDict[K, V]):
    """A small LRU map: what clients sent lately, bounded."""

    def __init__(self, size: int = DOCUMENT_CACHE) -> None:
        super().__init__()
        self.size = size

    def recall(self, key: K) -> V | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def remember(self, key: K, value: V) -> V:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)
        return value


def key_parts(token: Token) -> str:
    """One token as the validation key reads it; length-prefixed, so that `"a b"`
    and `"a" "b"` do not read alike."""
    value = token.value or ""
    return f"{token.kind.value}{len(value)}:{value}"


def shape_part(token: Token) -> str:
    return "?" if token.kind in _LITERALS else (token.value or token.kind.value)


SHAPE = "shape:"


def digest(parts: list[str], prefix: str = "") -> str:
    return prefix + hashlib.sha256(" ".join(parts).encode()).hexdigest()


_TOKEN_KEYS: Recent[str, str] = Recent()  # text -> its tokens' key
_BY_TOKENS: Recent[str, DocumentNode] = Recent()  # tokens' key -> parsed document
_SINKS: Recent[str, dict[str, frozenset[str]]] = Recent()
_IDS: Recent[str, str] = Recent()


def remember_token_key(text: str, key: str) -> None:
    """Told by the gateway's one lexing pass, so no later step lexes the text again."""
    _TOKEN_KEYS.remember(text, key)


def token_key(text: str) -> str:
    """The document as validation sees it: its tokens, without comments, whitespace
    or commas (raises GraphQLError when it does not lex). Usually known already."""
    known = _TOKEN_KEYS.recall(text)
    if known is not None:
        return known
    lexer = Lexer(Source(text))
    parts: list[str] = []
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        parts.append(key_parts(token))
        token = lexer.advance()
    return _TOKEN_KEYS.remember(text, digest(parts))


def parse_cached(text: str) -> DocumentNode:
    """Parsed documents, shared and never mutated, one per token stream: a text
    differing only in comments or spacing reuses the parse (its error locations
    are those of the first such text, as with the validation cache)."""
    key = token_key(text)
    document = _BY_TOKENS.recall(key)
    if document is None:
        document = _BY_TOKENS.remember(key, parse(text, max_tokens=MAX_TOKENS))
    return document


def document_id_of(text: str) -> str:
    """The trusted-document id of a text (raises GraphQLError when it does not parse)."""
    key = token_key(text)
    found = _IDS.recall(key)
    if found is None:
        found = _IDS.remember(key, document_id(normalize(parse_cached(text))))
    return found


async def store_documents(session: AsyncSession, texts: Sequence[str]) -> list[str]:
    ids = []
    for body in texts:
        doc_id = document_id(body)
        if await session.get(TrustedDocument, doc_id) is None:
            session.add(TrustedDocument(id=doc_id, body=body))
        ids.append(doc_id)
    await session.flush()
    return ids


async def load_document(session: AsyncSession, doc_id: str) -> str | None:
    return await session.scalar(select(TrustedDocument.body).where(TrustedDocument.id == doc_id))


class CachedParse(SchemaExtension):
    """Parsed documents from the shared cache. A text that does not parse is left to
    Strawberry, which parses it again and reports the error in its usual place."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            with contextlib.suppress(GraphQLError):
                context.graphql_document = parse_cached(context.query)
        yield
