"""Bearer-token authentication: one indexed lookup per request, no caching,

so a revocation takes effect on the very next request. A credential bound to a
client certificate is accepted only over TLS from that certificate.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from starlette.types import Scope

from domain.principal import Principal
from gateway.tls import fingerprint_for
from store.credentials import find_valid_credential
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
    sessions: async_sessionmaker[AsyncSession],
    *,
    fingerprint: str | None = None,
) -> Principal | None:
    token = bearer_token(conn)
    if token is None:
        return None
    async with sessions() as session:
        credential = await find_valid_credential(session, token=token, now=utcnow())
    if credential is None:
        return None
    if credential.cert_fingerprint is not None and credential.cert_fingerprint != fingerprint:
        return None  # the token alone is not enough for a certificate-bound credential
    return Principal(
        credential_id=credential.id,
        name=credential.principal,
        role=credential.role,
        scope=credential.region_scope,
        fields=frozenset(credential.fields) if credential.fields is not None else None,
        documents=frozenset(credential.documents) if credential.documents is not None else None,
    )
