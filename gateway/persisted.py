"""Persisted queries as the clients' own tools send them.

- Apollo's automatic persisted queries (APQ): `extensions.persistedQuery` with
  `version: 1` and `sha256Hash`, the SHA-256 of the query text exactly as sent. A hash
  the server does not know is answered `PersistedQueryNotFound`; the client then sends
  the text with the hash, and the server checks the hash and remembers the text.
- A trusted-document manifest, the JSON map of hash to document text that
  `@graphql-codegen/client-preset` (persisted documents) and Relay (`persistConfig`)
  write, given to `dibao token issue --documents FILE.json`. Its documents are stored
  under their ids (`sha256:`, `sha1:` or `md5:` and the hex digest, as the tools hash:
  checked against the text) next to the normalised form the credential is bound to; a
  client sends the id as APQ's hash, as `documentId`, or as Relay's `doc_id`.

What a caller registers through APQ is remembered per credential, never shared: a
hash another credential sent would otherwise answer "someone ran this text lately",
and a text with a literal ID number in it would tell whom they looked up. The memory
is bounded in entries and characters, and only texts that passed the size limits, and
a trusted-documents-only credential's trust check, are remembered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, InvalidInput
from gateway.documents import split_operations, store_documents
from store.models import TrustedDocument

APQ_VERSION = 1
NOT_FOUND_CODE = "PERSISTED_QUERY_NOT_FOUND"
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # the exact message Apollo clients look for
MAX_ENTRIES = 1024  # remembered texts per process, all credentials together
MAX_CHARS = 4 * 1024 * 1024  # and their characters: no caller can make this memory grow
# one credential's share of both: a caller registering text after text evicts its own
# oldest, not every other credential's registrations
SHARE = 8
ALGORITHMS = {64: "sha256", 40: "sha1", 32: "md5"}  # hex digest length -> hash
_HEX = re.compile(r"[0-9a-f]+")


class PersistedQueryNotFound(DomainError):
    """No text for this hash: the client sends it again with the query (APQ)."""

    code = NOT_FOUND_CODE

    def __init__(self) -> None:
        super().__init__(NOT_FOUND_MESSAGE)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq_hash(extensions: object) -> str | None:
    """`extensions.persistedQuery.sha256Hash`, checked; None when there is none."""
    if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != APQ_VERSION:
        raise InvalidInput(
            "extensions.persistedQuery: expected {version: 1, sha256Hash: <64 hex digits>}",
            field="extensions.persistedQuery",
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or len(digest) != 64 or not _HEX.fullmatch(digest.lower()):
        raise InvalidInput(
            "extensions.persistedQuery.sha256Hash: expected 64 hex digits",
            field="extensions.persistedQuery",
        )
    return digest.lower()


def manifest_id(key: str) -> str | None:
    """A manifest key (a hex digest) as the id its document is stored under."""
    key = key.lower()
    algorithm = ALGORITHMS.get(len(key))
    if algorithm is None or not _HEX.fullmatch(key):
        return None
    return f"{algorithm}:{key}"


def is_document_id(value: str) -> bool:
    """`sha256:`, `sha1:` or `md5:` and its hex digest: an id a manifest's text may have."""
    return manifest_id(value.partition(":")[2]) == value.lower()


class Remembered:
    """APQ registrations per (credential, hash): a small LRU bounded in entries and size,
    of which one credential holds at most 1/SHARE."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS) -> None:
        self.max_entries, self.max_chars = max_entries, max_chars
        self.share_entries = max(1, max_entries // SHARE)
        self.share_chars = max(1, max_chars // SHARE)
        self._texts: OrderedDict[tuple[str, str], str] = OrderedDict()
        # each credential's digests, oldest first, and the characters they hold
        self._mine: dict[str, OrderedDict[str, None]] = {}
        self._chars_of: dict[str, int] = {}
        self.chars = 0

    def __len__(self) -> int:
        return len(self._texts)

    def recall(self, credential_id: str, digest: str) -> str | None:
        text = self._texts.get((credential_id, digest))
        if text is not None:
            self._texts.move_to_end((credential_id, digest))
            self._mine[credential_id].move_to_end(digest)
        return text

    def remember(self, credential_id: str, digest: str, text: str) -> None:
        if len(text) > self.share_chars:
            return
        self._drop(credential_id, digest)
        self._texts[(credential_id, digest)] = text
        self._mine.setdefault(credential_id, OrderedDict())[digest] = None
        self._chars_of[credential_id] = self._chars_of.get(credential_id, 0) + len(text)
        self.chars += len(text)
        mine = self._mine[credential_id]
        while len(mine) > self.share_entries or self._chars_of[credential_id] > self.share_chars:
            self._drop(credential_id, next(iter(mine)))
        while len(self._texts) > self.max_entries or self.chars > self.max_chars:
            oldest_credential, oldest = next(iter(self._texts))
            self._drop(oldest_credential, oldest)

    def _drop(self, credential_id: str, digest: str) -> None:
        text = self._texts.pop((credential_id, digest), None)
        if text is None:
            return
        self.chars -= len(text)
        self._chars_of[credential_id] -= len(text)
        mine = self._mine[credential_id]
        del mine[digest]
        if not mine:  # a credential that holds nothing takes no room in the maps
            del self._mine[credential_id], self._chars_of[credential_id]


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    id: str  # e.g. sha256:<hex of the text as the tool hashed it>
    text: str
    normalized: str  # the one operation, with its fragments, as trusted documents store it


def read_manifest(raw: str) -> list[ManifestEntry]:
    """A JSON map of hex digest to document text; every digest is checked."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput("documents: the manifest is not JSON", field="documents") from None
    if not isinstance(data, dict) or not data:
        raise InvalidInput(
            "documents: expected a JSON object of hash to document text", field="documents"
        )
    entries = []
    for key, text in data.items():
        doc_id = manifest_id(key)
        if doc_id is None or not isinstance(text, str):
            raise InvalidInput(
                "documents: each key must be the hex SHA-256, SHA-1 or MD5 of its text",
                field="documents",
            )
        algorithm, digest = doc_id.split(":")
        if hashlib.new(algorithm, text.encode()).hexdigest() != digest:
            raise InvalidInput(
                f"documents: {key} is not the {algorithm} of its text", field="documents"
            )
        operations = split_operations(text)
        if len(operations) != 1:
            raise InvalidInput(
                f"documents: {key} holds {len(operations)} operations, not one", field="documents"
            )
        entries.append(ManifestEntry(id=doc_id, text=text, normalized=operations[0]))
    return entries


async def store_manifest(session: AsyncSession, entries: Sequence[ManifestEntry]) -> list[str]:
    """Each text under the tool's id, and its normalised form, whose ids are returned
    for the credential to be bound to (so the trust check is the one of .graphql files)."""
    for entry in entries:
        if await session.get(TrustedDocument, entry.id) is None:
            session.add(TrustedDocument(id=entry.id, body=entry.text))
    return await store_documents(session, [e.normalized for e in entries])
