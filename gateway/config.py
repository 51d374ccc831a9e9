"""Settings from the environment, read once at start-up (SPEC: configuration by environment)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from domain.assets import AssetLimits, parse_county_limits, parse_limits
from domain.benefit import MARGINAL_MULTIPLE
from domain.calendar import WorkingCalendar
from domain.deadlines import CaseDays
from domain.documents import DAILY_MB as DOCUMENT_DAILY_MB
from domain.enums import HouseholdStatus
from domain.errors import DomainError
from domain.review import MAX_TOKEN_DAYS, REVIEW_PERIOD_DAYS, parse_max_token_days
from domain.verification import DUE_WORKING_DAYS
from domain.workflow import (
    ARCHIVE_AFTER_DAYS,
    GRADUAL_EXIT_MONTHS,
    REVIEW_MONTHS,
    STAGE_LIMITS,
    ReviewClass,
)
from gateway.quota import DEFAULT_QUOTAS, Quota, parse_lookup_quotas
from gateway.ratelimit import DEFAULT_RATES, Rate, parse_rate_limits
from policies.engine import default_rules
from store import calendar as calendar_files

DEFAULT_DATABASE_FILE = "dibao.db"
DEFAULT_KEY_FILE = "dibao-keys.json"
DEFAULT_ANCHOR_FILE = "dibao-audit-anchors.jsonl"
OFF = {"", "0", "false", "off", "no", "none"}


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

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def load_settings(*, demo: bool = False) -> Settings:
    """The embedded default is an SQLite file in the working folder."""
    url = os.environ.get("DIBAO_DATABASE_URL") or sqlite_url(Path.cwd() / DEFAULT_DATABASE_FILE)
    key_file = Path(os.environ.get("DIBAO_KEY_FILE") or Path.cwd() / DEFAULT_KEY_FILE)
    limits = parse_stage_limits(os.environ.get("DIBAO_STAGE_LIMITS", ""))
    origins = tuple(
        o.strip() for o in os.environ.get("DIBAO_CORS_ORIGINS", "").split(",") if o.strip()
    )
    return Settings(
        database_url=url,
        key_file=key_file,
        demo=demo,
        # GraphiQL outside demo mode, for development: it reads the schema's SDL, while
        # the service still answers no introspection
        graphiql=demo or _flag(os.environ.get("DIBAO_GRAPHIQL")),
        cors_origins=origins,
        archive_after_days=_positive(
            os.environ.get("DIBAO_ARCHIVE_AFTER_DAYS"), ARCHIVE_AFTER_DAYS
        ),
        stage_limits=limits,
        fast_path=os.environ.get("DIBAO_FAST_PATH", "1").strip() not in {"0", "false", "off"},
        rate_limits=parse_rate_limits(os.environ.get("DIBAO_RATE_LIMITS", "")),
        anchor_file=_anchor_file(os.environ.get("DIBAO_AUDIT_ANCHOR_FILE")),
        anchor_syslog=_anchor_syslog(os.environ.get("DIBAO_AUDIT_ANCHOR_SYSLOG", "")),
        anchor_every=_positive(os.environ.get("DIBAO_AUDIT_ANCHOR_EVERY"), 1000, "entries"),
        anchor_seconds=_seconds(os.environ.get("DIBAO_AUDIT_ANCHOR_SECONDS"), 10.0),
        lookup_quotas=parse_lookup_quotas(os.environ.get("DIBAO_LOOKUP_QUOTAS", "")),
        review_months=parse_review_months(os.environ.get("DIBAO_REVIEW_MONTHS", "")),
        gradual_exit_months=_positive(
            os.environ.get("DIBAO_GRADUAL_EXIT_MONTHS"), GRADUAL_EXIT_MONTHS, "months"
        ),
        verification_days=_positive(
            os.environ.get("DIBAO_VERIFICATION_DAYS"), DUE_WORKING_DAYS, "working days"
        ),
        calendar=_calendar(os.environ.get("DIBAO_CALENDAR_FILE", "")),
        alert_seconds=_seconds_or_off(os.environ.get("DIBAO_ALERT_SCAN_SECONDS"), 60.0),
        document_dir=Path(d) if (d := os.environ.get("DIBAO_DOCUMENT_DIR", "").strip()) else None,
        document_daily_mb=_positive(
            os.environ.get("DIBAO_DOCUMENT_DAILY_MB"), DOCUMENT_DAILY_MB, "megabytes"
        ),
        case_days=parse_case_days(
            os.environ.get("DIBAO_CASE_DAYS", ""), written=limits["REJECTED"]
        ),
        marginal_multiple=parse_multiple(os.environ.get("DIBAO_MARGINAL_MULTIPLE", "")),
        asset_limits=parse_asset_limits(
            os.environ.get("DIBAO_ASSET_LIMITS", ""),
            os.environ.get("DIBAO_COUNTY_ASSET_LIMITS", ""),
        ),
        review_period_days=_positive(
            os.environ.get("DIBAO_REVIEW_PERIOD_DAYS"), REVIEW_PERIOD_DAYS
        ),
        max_token_days=parse_max_token_days(os.environ.get("DIBAO_MAX_TOKEN_DAYS", "")),
        metrics_token=parse_metrics_token(os.environ.get("DIBAO_METRICS_TOKEN", "")),
        log_format=parse_log_format(os.environ.get("DIBAO_LOG_FORMAT", "")),
    )


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


def _anchor_file(value: str | None) -> Path | None:
    """On by default: a wiped database is only detectable against something kept outside it."""
    if value is None or not value.strip():
        return Path.cwd() / DEFAULT_ANCHOR_FILE
    return None if value.strip().lower() in OFF else Path(value.strip())


def _anchor_syslog(value: str) -> str | None:
    """`1` for the host's syslog, or an address: `/dev/log`, `host:port` (UDP)."""
    value = value.strip()
    if value.lower() in OFF:
        return None
    return "local" if value.lower() in {"1", "true", "on", "yes", "local"} else value


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


def _flag(value: str | None) -> bool:
    if value is None or value.strip().lower() in OFF:
        return False
    if value.strip().lower() in {"1", "true", "on", "yes"}:
        return True
    raise ValueError(f"DIBAO_GRAPHIQL: {value!r} is not one of 1, true, on, yes, 0, false, off, no")


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
