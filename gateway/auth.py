"""Bearer-token authentication: an indexed lookup (a prepared statement through the
fast reader), remembered in process for at most FRESH_S.

The lookup was a database round trip on every request, the same row again and
again for a busy credential. A valid credential's row is now reused for less
than a second, then read again; so a revocation (or any change to the row),
made by any process, holds in every server within a second, on SQLite and
PostgreSQL alike, with no invalidation message that could be lost. Expiry is
checked on every request against the remembered row. Only valid credentials are
remembered: random tokens cannot fill the memory. A credential bound to a
client certificate is accepted only over TLS from that certificate.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import Scope

from domain.principal import Principal
from gateway.tls import fingerprint_for
from store.credentials import hash_token, valid_credential_row
from store.fastread import FastReader, Record
from store.types import utcnow

FRESH_S = 0.5  # how long a read credential row is reused: revocation holds within this
MAX_REMEMBERED = 10_000


class CredentialCache:
    """Valid credential rows by token hash, each with the monotonic time it was read."""

    def __init__(self, *, fresh: float = FRESH_S, clock: Any = time.monotonic) -> None:
        self.fresh = fresh
        self._clock = clock
        self._rows: dict[bytes, tuple[float, Record]] = {}

    def get(self, token_hash: bytes) -> Record | None:
        found = self._rows.get(token_hash)
        if found is None:
            return None
        if self._clock() - found[0] >= self.fresh:
            del self._rows[token_hash]
            return None
        return found[1]

    def clear(self) -> None:
        self._rows.clear()

    def put(self, token_hash: bytes, row: Record) -> None:
        if len(self._rows) >= MAX_REMEMBERED:
            self._rows.clear()
        self._rows[token_hash] = (self._clock(), row)


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def peer_fingerprint(scope: Scope) -> str | None:
    return fingerprint_for(scope.get("client"))


async def authenticate(
    conn: HTTPConnection,
    reader: FastReader,
    *,
    fingerprint: str | None = None,
    cache: CredentialCache | None = None,
) -> Principal | None:
    token = bearer_token(conn)
    if token is None:
        return None
    now = utcnow()
    key = hash_token(token)
    credential = cache.get(key) if cache is not None else None
    if credential is None:
        async with reader.connect() as reads:
            credential = await valid_credential_row(reads, token=token, now=now)
        if credential is None:
            return None
        if cache is not None:
            cache.put(key, credential)
    elif credential["expires_at"] <= now:
        return None
    bound = credential["cert_fingerprint"]
    if bound is not None and bound != fingerprint:
        return None  # the token alone is not enough for a certificate-bound credential
    fields, documents = credential["fields"], credential["documents"]
    return Principal(
        credential_id=credential["id"],
        name=credential["principal"],
        role=credential["role"],
        scope=credential["region_scope"],
        fields=frozenset(fields) if fields is not None else None,
        documents=frozenset(documents) if documents is not None else None,
        department=credential["department"],
    )
