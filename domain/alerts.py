"""Misuse alerts over the audit log (日志审计): the rules, with no I/O.

Each rule counts, for one principal and one clock hour (Beijing time), something a
credential at honest work does rarely: many distinct households read, ID numbers
looked up and not found (or claims that collide), refused requests, reads outside
working hours; or it notices a credential used from a client address it was never
used from. The thresholds are data (per rule and role, a secadmin edits them, every
edit audited); a threshold of 0 switches a rule off for that role. An alert names
the audit entries it rests on.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from domain.calendar import BEIJING, WorkingCalendar

MAX_EVIDENCE = 50  # audit entries named by one alert: enough to open the case


class AlertRule(enum.StrEnum):
    BULK_READS = "BULK_READS"  # distinct households read in an hour
    LOOKUP_MISSES = "LOOKUP_MISSES"  # ID numbers looked up and not found, or colliding claims
    REFUSALS = "REFUSALS"  # requests refused: forbidden, unauthenticated, over the limit
    OFF_HOURS = "OFF_HOURS"  # archives read outside working hours (configured roles only)
    NEW_CLIENT = "NEW_CLIENT"  # a credential used from a client address new to it


class AlertStatus(enum.StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"


ANY_ROLE = "*"
# the shipped thresholds, per rule and role (ANY_ROLE: every role not named). They
# sit well above what the demo's roles do in a day of work; a county tunes them.
DEFAULT_THRESHOLDS: dict[tuple[AlertRule, str], int] = {
    (AlertRule.BULK_READS, "caseworker"): 300,
    (AlertRule.BULK_READS, "county_reviewer"): 1000,
    (AlertRule.BULK_READS, "partner"): 100,
    (AlertRule.BULK_READS, ANY_ROLE): 2000,
    (AlertRule.LOOKUP_MISSES, ANY_ROLE): 20,
    (AlertRule.REFUSALS, ANY_ROLE): 20,
    (AlertRule.OFF_HOURS, ANY_ROLE): 0,  # off unless a county names the roles
    (AlertRule.NEW_CLIENT, "partner"): 1,  # machine credentials come from known hosts
    (AlertRule.NEW_CLIENT, ANY_ROLE): 0,
}
MAX_THRESHOLD = 1_000_000
WORK_HOURS = range(8, 18)  # Beijing office hours: from 08:00 to 18:00
REFUSED_OUTCOMES = frozenset({"denied", "unauthenticated", "rate_limited"})
MISSED_LOOKUPS = frozenset({"verify", "probe"})  # found=false is a miss for these


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """What the rules read of one audit entry (no personal value)."""

    seq: int
    time: dt.datetime
    principal: str
    role: str
    credential_id: str | None
    client: str | None
    outcome: str
    archive_nos: tuple[str, ...] = ()
    misses: int = 0  # lookups not found, and claims that collided


@dataclass(frozen=True, slots=True)
class Draft:
    rule: AlertRule
    principal: str
    role: str
    window_start: dt.datetime  # the hour (UTC) the counted entries fall in
    count: int
    evidence: tuple[int, ...]  # audit sequence numbers, at most MAX_EVIDENCE


@dataclass
class _Tally:
    role: str
    count: int = 0
    seen: set[str] = field(default_factory=set)
    evidence: list[int] = field(default_factory=list)

    def add(self, seq: int) -> None:
        if len(self.evidence) < MAX_EVIDENCE:
            self.evidence.append(seq)


def threshold(thresholds: Mapping[tuple[AlertRule, str], int], rule: AlertRule, role: str) -> int:
    return thresholds.get((rule, role), thresholds.get((rule, ANY_ROLE), 0))


def loosens(current: int, new: int) -> bool:
    """Whether a threshold change lets more go unnoticed: a higher count, or 0 (off),
    the loosest of all. Such a change waits for a second secadmin (四眼原则)."""

    def strictness(value: int) -> float:
        return float("inf") if value == 0 else float(value)

    return strictness(new) > strictness(current)


def shown(value: int) -> str:
    """A threshold as the four-eyes proposal shows it."""
    return "off" if value == 0 else str(value)


def hour_of(moment: dt.datetime) -> dt.datetime:
    """The clock hour an entry falls in (UTC; hours are the same in Beijing)."""
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def off_hours(moment: dt.datetime, calendar: WorkingCalendar) -> bool:
    local = moment.astimezone(BEIJING)
    if not calendar.knows(local.year):
        return False  # no calendar, no claim
    return not (calendar.is_working(local.date()) and local.hour in WORK_HOURS)


def evaluate(
    entries: Iterable[EntryFacts],
    thresholds: Mapping[tuple[AlertRule, str], int],
    calendar: WorkingCalendar,
) -> list[Draft]:
    """The hourly rules over the entries of whole hours (the caller passes every entry
    of each hour it asks about, so a count is never cut at a scan's edge)."""
    tallies: dict[tuple[AlertRule, str, dt.datetime], _Tally] = {}

    def tally(rule: AlertRule, e: EntryFacts) -> _Tally:
        key = (rule, e.principal, hour_of(e.time))
        return tallies.setdefault(key, _Tally(role=e.role))

    for e in entries:
        if e.archive_nos:
            reads = tally(AlertRule.BULK_READS, e)
            fresh = [a for a in e.archive_nos if a not in reads.seen]
            reads.seen.update(fresh)
            reads.count += len(fresh)
            reads.add(e.seq)
            if off_hours(e.time, calendar):
                late = tally(AlertRule.OFF_HOURS, e)
                late.count += 1
                late.add(e.seq)
        if e.misses:
            missed = tally(AlertRule.LOOKUP_MISSES, e)
            missed.count += e.misses
            missed.add(e.seq)
        if e.outcome in REFUSED_OUTCOMES:
            refused = tally(AlertRule.REFUSALS, e)
            refused.count += 1
            refused.add(e.seq)
    drafts = []
    for (rule, principal, hour), t in sorted(tallies.items(), key=lambda i: (i[0][2], i[0][1])):
        limit = threshold(thresholds, rule, t.role)
        if limit > 0 and t.count >= limit:
            drafts.append(Draft(rule, principal, t.role, hour, t.count, tuple(t.evidence)))
    return drafts


def new_clients(
    entries: Sequence[EntryFacts],
    known: Mapping[str, frozenset[str]],
    thresholds: Mapping[tuple[AlertRule, str], int],
) -> tuple[list[Draft], dict[str, set[str]]]:
    """A credential seen from an address it never used before (after its first use):
    the drafts, and every (credential, address) pair first seen here, to remember."""
    drafts: list[Draft] = []
    seen: dict[str, set[str]] = {}
    for e in entries:
        if e.credential_id is None or e.client is None:
            continue
        before = known.get(e.credential_id, frozenset())
        mine = seen.setdefault(e.credential_id, set())
        if e.client in before or e.client in mine:
            continue
        first_use = not before and not mine
        mine.add(e.client)
        if not first_use and threshold(thresholds, AlertRule.NEW_CLIENT, e.role) > 0:
            drafts.append(
                Draft(AlertRule.NEW_CLIENT, e.principal, e.role, hour_of(e.time), 1, (e.seq,))
            )
    return drafts, seen
