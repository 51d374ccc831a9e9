"""Bearer-token authentication: one indexed lookup per request (a prepared statement
through the fast reader), no caching,

so a revocation takes effect on the very next request. A credential bound to a
client certificate is accepted only over TLS from that certificate.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import Scope

from domain.principal import Principal
from gateway.tls import fingerprint_for
from store.credentials import valid_credential_row
from store.fastread import FastReader
from store.types import utcnow


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
) -> Principal | None:
    token = bearer_token(conn)
    if token is None:
        return None
    async with reader.connect() as reads:
        credential = await valid_credential_row(reads, token=token, now=utcnow())
    if credential is None:
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
