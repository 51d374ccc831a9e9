"""Bearer credentials: issued once, stored only as a SHA-256 hash, revocable at once.

A token carries 256 bits from `secrets`, so a plain SHA-256 is a sufficient
verifier: there is nothing to brute-force, and lookups are one indexed equality.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import LargeBinary, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Role
from domain.errors import InvalidInput, NotFound
from domain.region import validate_scope
from domain.review import check_lifetime
from domain.verification import parse_department
from store.fastread import Reads, Record
from store.models import Credential

TOKEN_PREFIX = "dibao_"  # noqa: S105 - a public marker, not a secret
NATIONAL_SCOPE = "*"
_TTL_RE = re.compile(r"\A([0-9]{1,5})([dhm])\Z")
_FIELD_RE = re.compile(r"^[A-Z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*$")


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_ttl(value: str) -> dt.timedelta:
    match = _TTL_RE.match(value.strip())
    if not match or int(match.group(1)) == 0:
        raise InvalidInput("ttl: expected a positive number with d, h or m, e.g. 30d", field="ttl")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": dt.timedelta(days=amount), "h": dt.timedelta(hours=amount)}.get(
        unit, dt.timedelta(minutes=amount)
    )


def normalize_scope(value: str) -> str:
    """`*` is the national scope (stored as ""), anything else a region prefix."""
    value = value.strip()
    return "" if value == NATIONAL_SCOPE else validate_scope(value, field="region")


def parse_fields(values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    fields = sorted({v.strip() for v in values if v.strip()})
    for field in fields:
        if not _FIELD_RE.match(field):
            raise InvalidInput(f"fields: {field!r} is not of the form Type.field", field="fields")
    return fields


async def issue_credential(
    session: AsyncSession,
    *,
    principal: str,
    role: str,
    region: str,
    ttl: dt.timedelta,
    fields: Sequence[str] | None = None,
    department: str | None = None,
    now: dt.datetime,
    max_days: dict[str, int] | None = None,
) -> tuple[Credential, str]:
    """A new credential and its token (shown once). `max_days`: the longest lifetime
    per role (DIBAO_MAX_TOKEN_DAYS); every issuing path of the service passes it."""
    principal = principal.strip()
    if not principal or len(principal) > 100:
        raise InvalidInput("principal: 1 to 100 characters", field="principal")
    try:
        role_value = Role(role).value
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise InvalidInput(f"role: unknown role; one of {roles}", field="role") from None
    if max_days is not None:
        check_lifetime(role_value, ttl, max_days)
    bound = parse_department(department)
    if bound is not None and role_value != Role.PARTNER.value:
        raise InvalidInput("department: only a partner credential answers for a department")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    credential = Credential(
        id=secrets.token_hex(8),
        token_hash=hash_token(token),
        principal=principal,
        role=role_value,
        region_scope=normalize_scope(region),
        fields=parse_fields(fields),
        department=bound.value if bound is not None else None,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(credential)
    await session.flush()
    return credential, token


async def list_credentials(session: AsyncSession) -> Sequence[Credential]:
    result = await session.scalars(select(Credential).order_by(Credential.created_at))
    return result.all()


async def revoke_credential(
    session: AsyncSession, *, credential_id: str, now: dt.datetime
) -> Credential:
    credential = await session.get(Credential, credential_id)
    if credential is None:
        raise NotFound("no such credential", field="id")
    if credential.revoked_at is None:
        credential.revoked_at = now
    return credential


async def valid_credential_row(reads: Reads, *, token: str, now: dt.datetime) -> Record | None:
    """The live credential's row for a presented token, or None (unknown, expired,
    revoked): the gateway's one check of a token, on the hot path (one prepared
    statement, a row)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    table = Credential.__table__

    def build() -> Select[Any]:
        return select(table).where(table.c.token_hash == bindparam("token_hash", type_=LargeBinary))

    rows = await reads.all(build(), token_hash=hash_token(token))
    if not rows or rows[0]["revoked_at"] is not None or rows[0]["expires_at"] <= now:
        return None
    return rows[0]
