"""Trusted documents (as Hasura's allow-lists and Apollo's safelists): a credential

may be bound to approved operations, identified by the SHA-256 of their
normalized text; such a caller may send the document or only its id.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from functools import lru_cache

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    Source,
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
from store.models import TrustedDocument

PREFIX = "sha256:"
MAX_TOKENS = 2000  # the gateway's token limit: a longer text is not parsed at all


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


@lru_cache(maxsize=DOCUMENT_CACHE)
def parse_cached(text: str) -> DocumentNode:
    """Parsed documents, shared and never mutated: clients send few distinct texts."""
    return parse(text, max_tokens=MAX_TOKENS)


@lru_cache(maxsize=DOCUMENT_CACHE)
def document_id_of(text: str) -> str:
    """The trusted-document id of a text (raises GraphQLError when it does not parse)."""
    return document_id(normalize(parse_cached(text)))


@lru_cache(maxsize=DOCUMENT_CACHE)
def shape_hash(text: str) -> str:
    """SHA-256 of the document normalized and stripped of literal values.

    The audit log records this, not the raw text's hash: a literal (an ID number
    written into the query) must not be recoverable by hashing guesses, and the
    same operation with other values should hash alike.
    """
    lexer = Lexer(Source(text))
    parts: list[str] = []
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        if len(parts) > MAX_TOKENS:
            # refused for its size anyway: the shape of what was read is enough,
            # and reading on would cost the server per byte the caller sends
            parts.append("...")
            break
        parts.append("?" if token.kind in _LITERALS else (token.value or token.kind.value))
        token = lexer.advance()
    return "shape:" + hashlib.sha256(" ".join(parts).encode()).hexdigest()


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
