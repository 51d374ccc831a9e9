"""The per-request context: who asks, sessions, the cipher, the settings.

Defined here, below the schema and the gateway, and free of GraphQL: the schema
extends it with its DataLoaders (schema/context.py), the gateway with its policy
gate (gateway/context.py); resolvers see only what is declared here. `Info` is
what a resolver reads of GraphQL's resolve info, as a protocol: the schema hands
its resolvers Strawberry's (schema/resolve.py).

Reads open a short session each (sibling loaders run concurrently, and one
AsyncSession must never be shared between tasks). Once a mutation opens the
request's transaction, every later read in the request goes through that one
session, under a lock, so the result shows the request's own uncommitted
changes; the gateway commits it together with the audit entry, or rolls it back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit import fields as F
from audit.lookups import lookup
from domain.assets import AssetLimits
from domain.benefit import MARGINAL_MULTIPLE
from domain.calendar import WorkingCalendar
from domain.deadlines import CaseDays
from domain.documents import DAILY_MB as DOCUMENT_DAILY_MB
from domain.exports import EXPORTS_PER_DAY
from domain.principal import Principal
from domain.review import REVIEW_PERIOD_DAYS
from domain.verification import DUE_WORKING_DAYS
from domain.workflow import ARCHIVE_AFTER_DAYS, GRADUAL_EXIT_MONTHS, REVIEW_MONTHS, STAGE_LIMITS
from store import calendar as calendar_files
from store.crypto import Cipher

CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "CST")  # dates of the archive are Beijing dates


class Settings(Protocol):
    """The configuration resolvers read (the gateway's Settings has these and more)."""

    @property
    def archive_after_days(self) -> int: ...
    @property
    def stage_limits(self) -> dict[str, int]: ...
    @property
    def anchor_file(self) -> Path | None: ...
    @property
    def review_months(self) -> dict[str, int]: ...
    @property
    def gradual_exit_months(self) -> int: ...
    @property
    def verification_days(self) -> int: ...
    @property
    def calendar(self) -> WorkingCalendar: ...
    @property
    def case_days(self) -> CaseDays: ...
    @property
    def marginal_multiple(self) -> Decimal: ...
    @property
    def asset_limits(self) -> AssetLimits: ...
    @property
    def document_dir(self) -> Path | None: ...
    @property
    def document_daily_mb(self) -> int: ...
    @property
    def exports_per_day(self) -> int: ...
    @property
    def review_period_days(self) -> int: ...
    @property
    def shipped_policy(self) -> tuple[tuple[str, ...], ...]: ...


@dataclass(frozen=True, slots=True)
class DefaultSettings:
    """The domain's defaults, for a context built without configuration."""

    archive_after_days: int = ARCHIVE_AFTER_DAYS
    stage_limits: dict[str, int] = field(default_factory=lambda: dict(STAGE_LIMITS))
    anchor_file: Path | None = None
    review_months: dict[str, int] = field(
        default_factory=lambda: {k.value: v for k, v in REVIEW_MONTHS.items()}
    )
    gradual_exit_months: int = GRADUAL_EXIT_MONTHS
    verification_days: int = DUE_WORKING_DAYS
    calendar: WorkingCalendar = field(default_factory=calendar_files.shipped)
    case_days: CaseDays = field(default_factory=CaseDays)
    marginal_multiple: Decimal = MARGINAL_MULTIPLE
    asset_limits: AssetLimits = field(default_factory=AssetLimits)
    document_dir: Path | None = None
    document_daily_mb: int = DOCUMENT_DAILY_MB
    exports_per_day: int = EXPORTS_PER_DAY
    review_period_days: int = REVIEW_PERIOD_DAYS
    # the gateway passes the release's policy; without it nothing counts as shipped
    shipped_policy: tuple[tuple[str, ...], ...] = ()


@dataclass
class Context:
    principal: Principal
    sessions: async_sessionmaker[AsyncSession]
    cipher: Cipher
    now: dt.datetime
    settings: Settings = field(default_factory=DefaultSettings)
    touched: set[str] = field(default_factory=set)  # archive numbers read or changed
    # people looked up or claimed by ID number, by blind index (audit/lookups.py)
    lookups: list[dict[str, Any]] = field(default_factory=list)
    # an export run by the request: its kind, parameters, row count and SHA-256, for
    # the audit entry (resolvers/exports.py)
    export: dict[str, Any] | None = None
    _tx: AsyncSession | None = field(default=None, init=False)
    _tx_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(CHINA_TIME).date()

    @property
    def transaction(self) -> AsyncSession | None:
        return self._tx

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        if self._tx is None:
            async with self.sessions() as session:
                yield session
            return
        async with self._tx_lock:
            yield self._tx

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """The request's one transaction; committed by the gateway with the audit entry."""
        if self._tx is None:
            self._tx = self.sessions()
        async with self._tx_lock:
            yield self._tx

    def check_claims(self, blind_indexes: list[bytes]) -> None:
        """Before ID numbers are checked for a claim elsewhere (store.applications): each
        is an answer about a person, charged against the lookup quota like a
        verification, refused whole (429) when it does not fit, and recorded. Whether
        the request commits decides later if they were claims or probes."""
        refusal = self.charge_lookups(len(blind_indexes))
        if refusal is not None:
            raise refusal
        self.lookups.extend(lookup(F.LOOKUP_CLAIM, ix, found=False) for ix in blind_indexes)

    def may_run(self, obj: str) -> bool:
        """Whether the policy lets the caller run an object no field of the operation
        names (an export's kind): never here; the gateway's context asks the policy, as
        its gate does for fields (resolvers decide no access)."""
        return False

    def column(self, obj: str) -> Callable[[str], str] | None:
        """How a file's personal column reads for the caller, as the policy decides it
        (`PaymentRoll.idNumber`): clear, masked, or None (left out). None here."""
        return None

    def column_decision(self, obj: str) -> str:
        """The policy's decision on such a column, as its value (`read`, `read_masked`,
        `denied`): the register keeps it, so a download can check it still holds."""
        return "denied"

    def charge_lookups(self, count: int) -> Exception | None:
        """The refusal when `count` more lookups do not fit the caller's quota; the
        gateway's context charges them (resolvers know no quotas)."""
        return None

    async def close(self) -> None:
        if self._tx is not None:
            await self._tx.close()  # rolls back anything not committed
            self._tx = None


class SchemaTypes(Protocol):
    """The served schema, as far as resolvers look at it: which types and fields it names."""

    def get_type_by_name(self, name: str) -> object | None: ...
    def policy_objects(self) -> tuple[str, ...]:
        """Every `Type.field` of the served schema's object types: what the policy decides."""
        ...


class Access(Protocol):
    """The policy's answers a file needs beyond the operation's fields (resolvers/exports.py)."""

    def may_run(self, obj: str) -> bool: ...
    def column(self, obj: str) -> Callable[[str], str] | None: ...
    def column_decision(self, obj: str) -> str: ...


class Info(Protocol):
    """What a resolver reads of the resolve info: the request's context and the schema."""

    @property
    def context(self) -> Context: ...
    @property
    def schema(self) -> SchemaTypes: ...
