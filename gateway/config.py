"""Settings from the environment, read once at start-up (SPEC: configuration by environment)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from domain.assets import AssetLimits, parse_county_limits, parse_limits
from domain.benefit import MARGINAL_MULTIPLE
from domain.calendar import WorkingCalendar
from domain.deadlines import CaseDays
from domain.documents import DAILY_MB as DOCUMENT_DAILY_MB
from domain.enums import HouseholdStatus
from domain.errors import DomainError
from domain.exports import EXPORT_KEEP_DAYS, EXPORTS_PER_DAY
from domain.review import MAX_TOKEN_DAYS, REVIEW_PERIOD_DAYS, parse_max_token_days
from domain.verification import DUE_WORKING_DAYS
from domain.workflow import (
    ARCHIVE_AFTER_DAYS,
    GRADUAL_EXIT_MONTHS,
    REVIEW_MONTHS,
    STAGE_LIMITS,
    ReviewClass,
)
from gateway.config_table import ConfigError as ConfigError  # callers catch it from here
from gateway.config_table import Environment
from gateway.quota import DEFAULT_QUOTAS, Quota, parse_lookup_quotas
from gateway.ratelimit import DEFAULT_RATES, Rate, parse_rate_limits
from policies.engine import default_rules
from store import calendar as calendar_files
from store.db import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_STATEMENT_TIMEOUT_MS

DEFAULT_DATABASE_FILE = "dibao.db"
DEFAULT_KEY_FILE = "dibao-keys.json"
DEFAULT_ANCHOR_FILE = "dibao-audit-anchors.jsonl"
OFF = {"", "0", "false", "off", "no", "none"}
MAX_CONNECT_TIMEOUT_S = 300


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    key_file: Path
    demo: bool = False
    graphiql: bool = False
    cors_origins: tuple[str, ...] = ()  # browsers' origins allowed to call the API; none by default
    archive_after_days: int = ARCHIVE_AFTER_DAYS  # terminated/rejected -> ARCHIVED after this
    stage_limits: dict[str, int] = field(default_factory=lambda: dict(STAGE_LIMITS))
    # the compiled read path (gateway/compiled.py); DIBAO_FAST_PATH=0 leaves every
    # request to the generic executor (same answers, measured slower)
    fast_path: bool = True
    # requests per second and burst per credential, by role (DIBAO_RATE_LIMITS)
    rate_limits: dict[str, Rate] = field(default_factory=lambda: dict(DEFAULT_RATES))
    # audit chain checkpoints outside the database (audit/anchors.py): a file and/or
    # syslog, every N entries or T seconds; None: that sink is off
    anchor_file: Path | None = None
    anchor_syslog: str | None = None
    anchor_every: int = 1000
    anchor_seconds: float = 10.0
    # verifyRecipient answers per credential, per minute and per day, by role
    # (DIBAO_LOOKUP_QUOTAS)
    lookup_quotas: dict[str, Quota] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    # months between periodic checks per review class (DIBAO_REVIEW_MONTHS, `A=12,B=6,C=6`)
    review_months: dict[str, int] = field(
        default_factory=lambda: {k.value: v for k, v in REVIEW_MONTHS.items()}
    )
    # months a household above the line keeps its benefit (DIBAO_GRADUAL_EXIT_MONTHS)
    gradual_exit_months: int = GRADUAL_EXIT_MONTHS
    # working days a partner department has to answer a verification request
    # (DIBAO_VERIFICATION_DAYS)
    verification_days: int = DUE_WORKING_DAYS
    # seconds between scans of the audit log by the misuse rules; 0: off
    # (DIBAO_ALERT_SCAN_SECONDS)
    alert_seconds: float = 60.0
    # working days (holidays, 调休): the library, the shipped file and DIBAO_CALENDAR_FILE
    calendar: WorkingCalendar = field(default_factory=calendar_files.shipped)
    # working days to the decision, extended, and to the written notice (DIBAO_CASE_DAYS)
    case_days: CaseDays = field(default_factory=CaseDays)
    # 低保边缘家庭: per-capita income under this multiple of the standard
    # (DIBAO_MARGINAL_MULTIPLE)
    marginal_multiple: Decimal = MARGINAL_MULTIPLE
    # asset limits per kind, yuan (DIBAO_ASSET_LIMITS over the defaults of
    # domain/assets.py; a county's own in DIBAO_COUNTY_ASSET_LIMITS)
    asset_limits: AssetLimits = field(default_factory=AssetLimits)
    # scanned documents' sealed bytes: a directory (DIBAO_DOCUMENT_DIR), or the database
    document_dir: Path | None = None
    # megabytes one principal may file in a Beijing day (DIBAO_DOCUMENT_DAILY_MB)
    document_daily_mb: int = DOCUMENT_DAILY_MB
    # exports one principal may request through the API in a Beijing day
    exports_per_day: int = EXPORTS_PER_DAY
    # days a finished export's file is kept (DIBAO_EXPORT_KEEP_DAYS), then deleted
    export_keep_days: int = EXPORT_KEEP_DAYS
    # permission review: days until a review is overdue (DIBAO_REVIEW_PERIOD_DAYS), a
    # credential's longest life by role (DIBAO_MAX_TOKEN_DAYS), and the policy this
    # release ships, which the review compares the policy in force with
    review_period_days: int = REVIEW_PERIOD_DAYS
    max_token_days: dict[str, int] = field(default_factory=lambda: dict(MAX_TOKEN_DAYS))
    shipped_policy: tuple[tuple[str, ...], ...] = field(
        default_factory=lambda: tuple(default_rules())
    )
    # GET /metrics: with a token, only `Authorization: Bearer <token>` is answered; without
    # one, only clients on this host (DIBAO_METRICS_TOKEN)
    metrics_token: str | None = field(default=None, repr=False)
    # the server log: json, console (readable lines), or auto: console on a terminal
    # (DIBAO_LOG_FORMAT)
    log_format: str = "auto"
    # PostgreSQL: seconds to open a connection, milliseconds a statement may run
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
    # reverse proxies whose forwarded headers are believed (DIBAO_FORWARDED_ALLOW_IPS)
    forwarded_allow_ips: str | None = None
    # an OTLP endpoint is configured (the SDK reads its OTEL_* variables itself)
    otlp_export: bool = False
    # and metrics over OTLP too (OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT)
    otlp_metrics: bool = False
    # worker processes of `dibao serve --workers N`, handed to each (DIBAO_SERVE_WORKERS)
    serve_workers: int = 1

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def load_settings(*, demo: bool = False, environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting read and checked once, at start-up; the first bad one is refused.

    The embedded default is an SQLite file in the working folder."""
    env = Environment(os.environ if environ is None else environ)
    limits = env.parse("DIBAO_STAGE_LIMITS", parse_stage_limits)
    return Settings(
        database_url=env.parse("DIBAO_DATABASE_URL", parse_database_url),
        key_file=env.parse("DIBAO_KEY_FILE", _key_file),
        demo=demo,
        # GraphiQL outside demo mode, for development: it reads the schema's SDL, while
        # the service still answers no introspection
        graphiql=demo or env.parse("DIBAO_GRAPHIQL", lambda v: _switch(v, default=False)),
        cors_origins=env.parse("DIBAO_CORS_ORIGINS", parse_origins),
        archive_after_days=env.parse(
            "DIBAO_ARCHIVE_AFTER_DAYS", lambda v: _positive(v, ARCHIVE_AFTER_DAYS)
        ),
        stage_limits=limits,
        fast_path=env.parse("DIBAO_FAST_PATH", lambda v: _switch(v, default=True)),
        rate_limits=env.parse("DIBAO_RATE_LIMITS", parse_rate_limits),
        anchor_file=env.parse("DIBAO_AUDIT_ANCHOR_FILE", _anchor_file),
        anchor_syslog=env.parse("DIBAO_AUDIT_ANCHOR_SYSLOG", _anchor_syslog),
        anchor_every=env.parse("DIBAO_AUDIT_ANCHOR_EVERY", lambda v: _positive(v, 1000, "entries")),
        anchor_seconds=env.parse("DIBAO_AUDIT_ANCHOR_SECONDS", lambda v: _seconds(v, 10.0)),
        lookup_quotas=env.parse("DIBAO_LOOKUP_QUOTAS", parse_lookup_quotas),
        review_months=env.parse("DIBAO_REVIEW_MONTHS", parse_review_months),
        gradual_exit_months=env.parse(
            "DIBAO_GRADUAL_EXIT_MONTHS", lambda v: _positive(v, GRADUAL_EXIT_MONTHS, "months")
        ),
        verification_days=env.parse(
            "DIBAO_VERIFICATION_DAYS", lambda v: _positive(v, DUE_WORKING_DAYS, "working days")
        ),
        calendar=env.parse("DIBAO_CALENDAR_FILE", _calendar),
        alert_seconds=env.parse("DIBAO_ALERT_SCAN_SECONDS", lambda v: _seconds_or_off(v, 60.0)),
        document_dir=env.parse(
            "DIBAO_DOCUMENT_DIR", lambda v: Path(v.strip()) if v.strip() else None
        ),
        exports_per_day=env.parse(
            "DIBAO_EXPORTS_PER_DAY", lambda v: _positive(v, EXPORTS_PER_DAY, "exports")
        ),
        export_keep_days=env.parse(
            "DIBAO_EXPORT_KEEP_DAYS", lambda v: _positive(v, EXPORT_KEEP_DAYS, "days")
        ),
        document_daily_mb=env.parse(
            "DIBAO_DOCUMENT_DAILY_MB", lambda v: _positive(v, DOCUMENT_DAILY_MB, "megabytes")
        ),
        case_days=env.parse(
            "DIBAO_CASE_DAYS", lambda v: parse_case_days(v, written=limits["REJECTED"])
        ),
        marginal_multiple=env.parse("DIBAO_MARGINAL_MULTIPLE", parse_multiple),
        asset_limits=AssetLimits(
            defaults=env.parse("DIBAO_ASSET_LIMITS", lambda v: parse_asset_limits(v, "").defaults),
            counties=env.parse(
                "DIBAO_COUNTY_ASSET_LIMITS", lambda v: parse_asset_limits("", v).counties
            ),
        ),
        review_period_days=env.parse(
            "DIBAO_REVIEW_PERIOD_DAYS", lambda v: _positive(v, REVIEW_PERIOD_DAYS)
        ),
        max_token_days=env.parse("DIBAO_MAX_TOKEN_DAYS", parse_max_token_days),
        connect_timeout_s=env.parse("DIBAO_CONNECT_TIMEOUT_S", parse_connect_timeout),
        statement_timeout_ms=env.parse(
            "DIBAO_STATEMENT_TIMEOUT_MS",
            lambda v: _positive(v, DEFAULT_STATEMENT_TIMEOUT_MS, "milliseconds"),
        ),
        forwarded_allow_ips=env.parse("DIBAO_FORWARDED_ALLOW_IPS", parse_networks),
        metrics_token=env.parse("DIBAO_METRICS_TOKEN", parse_metrics_token),
        log_format=env.parse("DIBAO_LOG_FORMAT", parse_log_format),
        serve_workers=env.parse("DIBAO_SERVE_WORKERS", lambda v: _positive(v, 1, "processes")),
        # the SDK reads the OTEL_* values itself; the service only attaches an exporter
        otlp_metrics=env.given("OTEL_EXPORTER_OTLP_ENDPOINT")
        or env.given("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
        otlp_export=env.given("OTEL_EXPORTER_OTLP_ENDPOINT")
        or env.given("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
    )


def parse_database_url(text: str) -> str:
    """SQLite through aiosqlite or PostgreSQL through asyncpg, the two drivers installed."""
    if not text.strip():
        return sqlite_url(Path.cwd() / DEFAULT_DATABASE_FILE)
    try:
        url = make_url(text.strip())
    except ArgumentError:
        raise ValueError("not a database URL") from None
    if url.drivername not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
        raise ValueError(f"the driver {url.drivername} is not installed")
    if "@" in (url.host or ""):
        # the URL is split at its first @: the rest of the password would be taken for
        # the host, and shown as such by `dibao config` (say nothing of it here)
        raise ValueError("an @ in the password is written %40")
    return text.strip()


def _key_file(text: str) -> Path:
    return Path(text.strip()) if text.strip() else Path.cwd() / DEFAULT_KEY_FILE


def parse_origins(text: str) -> tuple[str, ...]:
    """`https://a.example,https://b.example:8443`: origins as a browser sends them."""
    origins = tuple(o.strip() for o in text.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path:
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    return origins


def parse_networks(text: str) -> str | None:
    """Addresses or networks of trusted proxies, as uvicorn takes them; None: trust none."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        try:
            ipaddress.ip_network(name, strict=False)
        except ValueError:
            raise ValueError(f"{name!r} is not an address or network") from None
    return ",".join(names) or None


def parse_connect_timeout(text: str) -> float:
    if not text.strip():
        return DEFAULT_CONNECT_TIMEOUT_S
    seconds = _seconds(text, DEFAULT_CONNECT_TIMEOUT_S)
    if seconds > MAX_CONNECT_TIMEOUT_S:
        raise ValueError(f"more than {MAX_CONNECT_TIMEOUT_S} seconds")
    return seconds


def _switch(text: str, *, default: bool) -> bool:
    value = text.strip().lower()
    if not value:
        return default
    if value in {"1", "on", "true", "yes"}:
        return True
    if value in {"0", "off", "false", "no"}:
        return False
    raise ValueError(f"{text.strip()!r} is not on or off")


MIN_METRICS_TOKEN = 24
LOG_FORMATS = ("auto", "json", "console")


def parse_metrics_token(value: str) -> str | None:
    """A shared secret for the scraper: long enough that guessing it is hopeless."""
    token = value.strip()
    if not token:
        return None
    if len(token) < MIN_METRICS_TOKEN or any(c.isspace() for c in token):
        raise ValueError(
            f"DIBAO_METRICS_TOKEN: expected at least {MIN_METRICS_TOKEN} characters without "
            "spaces (for example: openssl rand -hex 32)"
        )
    return token


def parse_log_format(value: str) -> str:
    fmt = value.strip().lower() or "auto"
    if fmt not in LOG_FORMATS:
        raise ValueError(
            f"DIBAO_LOG_FORMAT: {value.strip()!r} is not one of {', '.join(LOG_FORMATS)}"
        )
    return fmt


def _calendar(value: str) -> WorkingCalendar:
    if not value.strip():
        return calendar_files.shipped()
    try:
        return calendar_files.load(Path(value.strip()))
    except calendar_files.CalendarFileError as exc:
        raise ValueError(f"DIBAO_CALENDAR_FILE: {exc}") from None


def parse_case_days(text: str, *, written: int) -> CaseDays:
    """`30/45`: working days from acceptance to the decision, and once extended."""
    if not text.strip():
        return CaseDays(written=written)
    decision, _, extended = text.partition("/")
    first = _positive(decision, 0, "working days")
    second = _positive(extended, 0, "working days") if extended.strip() else first
    if second < first:
        raise ValueError(f"DIBAO_CASE_DAYS: the extended limit {second} is below {first}")
    return CaseDays(decision=first, extended=second, written=written)


def check_calendar(settings: Settings, today: dt.date) -> list[str]:
    """Refuse to start on a year the working-day calendar does not know; return the
    warnings to print (a provisional year counts only its statutory days).

    Every limit starting today must be countable: the longest, the extended case
    limit, reaches into the next year from October on."""
    calendar = settings.calendar
    longest = max(settings.case_days.extended, *settings.stage_limits.values())
    calendar.add(today, longest)  # UnknownYear, with the years it knows, if not
    reach = {today.year, calendar.add(today, longest).year}
    return [
        f"the working-day calendar of {year} is provisional: statutory holidays only, "
        "without the State Council's moved days (调休); add them to DIBAO_CALENDAR_FILE"
        for year in sorted(reach & calendar.provisional)
    ]


def parse_multiple(text: str) -> Decimal:
    """`1.5`: the edge line as a multiple of the standard, from 1 (the line itself) to 3."""
    if not text.strip():
        return MARGINAL_MULTIPLE
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"DIBAO_MARGINAL_MULTIPLE: {text!r} is not a number") from None
    if not (value.is_finite() and 1 <= value <= 3):
        raise ValueError(f"DIBAO_MARGINAL_MULTIPLE: {text!r} is not between 1 and 3")
    return value


def parse_asset_limits(defaults: str, counties: str) -> AssetLimits:
    """Limits over the shipped defaults, and counties' own over those."""
    try:
        base = AssetLimits()
        return AssetLimits(
            defaults={**base.defaults, **parse_limits(defaults, name="DIBAO_ASSET_LIMITS")},
            counties=parse_county_limits(counties, name="DIBAO_COUNTY_ASSET_LIMITS"),
        )
    except DomainError as error:
        raise ValueError(error.message) from None


def _anchor_file(value: str) -> Path | None:
    """On by default: a wiped database is only detectable against something kept outside it."""
    if not value.strip():
        return Path.cwd() / DEFAULT_ANCHOR_FILE
    return None if value.strip().lower() in OFF else Path(value.strip())


def _anchor_syslog(value: str) -> str | None:
    """`1` for the host's syslog, or an address: `/dev/log`, `host:port` (UDP)."""
    value = value.strip()
    if value.lower() in OFF:
        return None
    if value.lower() in {"1", "true", "on", "yes", "local"}:
        return "local"
    host, sep, port = value.rpartition(":")
    if not value.startswith("/") and sep and not (host and port.isdigit()):
        raise ValueError(f"{value!r} is neither a socket path nor host[:port]")
    return value


def _seconds(value: str | None, default: float) -> float:
    if value is None or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a positive number of seconds") from None
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{value!r} is not a positive number of seconds")
    return number


def _seconds_or_off(value: str | None, default: float) -> float:
    if value is not None and value.strip() in {"0", "off"}:
        return 0.0
    return _seconds(value, default)


def _positive(value: str | None, default: int, unit: str = "days") -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a positive number of {unit}") from None
    if number < 1:
        raise ValueError(f"{value!r} is not a positive number of {unit}")
    return number


def parse_stage_limits(text: str) -> dict[str, int]:
    """`SUBMITTED=3,ACCEPTED=10`: working days a household may stay in a stage (overrides
    the defaults; REJECTED and TERMINATED: days until the written notice)."""
    limits = dict(STAGE_LIMITS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        stage, _, days = part.partition("=")
        if stage.strip() not in {s.value for s in HouseholdStatus}:
            raise ValueError(f"DIBAO_STAGE_LIMITS: unknown stage {stage.strip()!r}")
        limits[stage.strip()] = _positive(days, 0) if days.strip() else _positive("0", 0)
    return limits


def parse_review_months(text: str) -> dict[str, int]:
    """`A=12,B=6,C=3`: a county's local scheme, months between checks per class
    (overrides the 57号 default: yearly, half-yearly where income is irregular)."""
    months = {k.value: v for k, v in REVIEW_MONTHS.items()}
    for part in filter(None, (p.strip() for p in text.split(","))):
        klass, _, value = part.partition("=")
        if klass.strip() not in {c.value for c in ReviewClass}:
            raise ValueError(f"DIBAO_REVIEW_MONTHS: unknown class {klass.strip()!r}")
        number = _positive(value, 0, "months")
        if number > 24:
            raise ValueError(f"DIBAO_REVIEW_MONTHS: {number} months is more than two years")
        months[klass.strip()] = number
    return months
