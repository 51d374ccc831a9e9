"""`dibao seed`: deterministic synthetic archives (realistic names, valid ID numbers).

Everything that describes a household — village, status, members and their
names, ID numbers, incomes, the review chain, payments, dates — is drawn from
one `random.Random(seed)` (names from Faker's zh_CN lists, seeded the same
way), and every date derives from `today`. The same seed on an empty database
therefore gives the same archives; only ciphertext nonces and row ids differ.

Two bulk paths: PostgreSQL gets binary COPY through asyncpg, SQLite gets Core
`executemany`. Both convert values through the tables' column types (Money is
integer cents on SQLite, numeric on PostgreSQL), and both run in one
transaction, so an interrupted seed leaves nothing behind.

A second seed into a non-empty database continues the archive sequences and
avoids every ID number already stored, so it never collides.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import functools
import itertools
import multiprocessing
import os
import random
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any, Final, Literal, Protocol

from faker import Faker
from sqlalchemy import Boolean, Table, func, insert, select, text, update
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.archive import format_archive_no
from domain.assets import AssetLimits, kinds_over_limit
from domain.benefit import (
    MARGINAL_MULTIPLE,
    is_eligible,
    is_marginal,
    monthly_benefit,
    next_month_start,
)
from domain.categories import age_on
from domain.enums import (
    CLAIMING_STATUSES,
    Area,
    AssetKind,
    DisabilityKind,
    ObjectionStatus,
    PaymentKind,
    PaymentStatus,
    RejectionReason,
    Relation,
    Role,
    Sex,
    TerminationReason,
)
from domain.enums import HouseholdStatus as HS
from domain.idnumber import make_id_number
from domain.region import county_of
from domain.workflow import (
    ARCHIVE_AFTER_DAYS,
    NOTICE_DAYS,
    REVIEW_MONTHS,
    MemberSituation,
    ReviewClass,
    Situation,
    Step,
    gradual_exit_end,
    next_review,
    next_status,
    notice_end,
    review_class,
)
from store import tallies
from store.crypto import Cipher, KeyRing
from store.models import (
    ArchiveSequence,
    Asset,
    BenefitHistory,
    Household,
    IdClaim,
    Member,
    Objection,
    Payment,
    Region,
    Review,
    Standard,
    new_id,
)
from store.regions_data import REGIONS, STANDARDS, RegionRow, area_of_village
from store.regions_national import national_plan
from store.types import UtcDateTime

__all__ = ["CHUNK_SIZE", "SEEDED_BY", "STANDARDS_FROM", "SeedReport", "seed"]

CHUNK_SIZE: Final = 2_000
SEEDED_BY: Final = "seed"
SHOWCASE_TOWNSHIP: Final = "220183100"  # 德惠市: where `dibao serve --demo` scopes its demo staff
STANDARDS_FROM: Final = dt.date(2026, 1, 1)
_SQLITE_ROWS_PER_EXECUTE: Final = 5_000
# from this many households on, a first seed on PostgreSQL builds the plain indexes
# after the load (README, Performance: what it saves); below, dropping is not worth it
_DEFER_INDEXES_FROM: Final = 10_000
_BEIJING: Final = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class SeedReport:
    households: int
    members: int
    payments: int
    reviews: int
    seconds: float


# --------------------------------------------------------------------------- statuses

# ~70 % ACTIVE; the rest spread over every other status.
_STATUS_WEIGHTS: Final = (
    (HS.ACTIVE, 68),
    (HS.DRAFT, 2),
    (HS.SUBMITTED, 3),
    (HS.AWAITING_CORRECTION, 1),
    (HS.ACCEPTED, 3),
    (HS.INVESTIGATED, 3),
    (HS.TOWNSHIP_REVIEWED, 2),
    (HS.NOTICE, 2),
    (HS.APPROVED, 2),
    (HS.REJECTED, 3),
    (HS.WITHDRAWN, 1),
    (HS.SUSPENDED, 3),
    (HS.GRADUAL_EXIT, 2),
    (HS.TERMINATED, 4),
    (HS.ARCHIVED, 3),
)
_STATUSES: Final = tuple(s for s, _ in _STATUS_WEIGHTS)
_STATUS_CUM: Final = tuple(itertools.accumulate(w for _, w in _STATUS_WEIGHTS))

# Households in these statuses have passed (or are about to pass) the means test.
_QUALIFIED: Final = frozenset(
    {HS.TOWNSHIP_REVIEWED, HS.NOTICE, HS.APPROVED, HS.ACTIVE, HS.SUSPENDED, HS.GRADUAL_EXIT}
)
_BENEFIT_STATUSES: Final = frozenset({HS.APPROVED, HS.ACTIVE, HS.SUSPENDED, HS.GRADUAL_EXIT})
_CLASSIFIED: Final = frozenset(
    {HS.APPROVED, HS.ACTIVE, HS.SUSPENDED, HS.GRADUAL_EXIT, HS.TERMINATED, HS.ARCHIVED}
)


@dataclass(frozen=True, slots=True)
class _Step:
    """A step of the chain as the seed draws it: the domain's step, who takes it, and
    how many days after the previous one. Its statuses come from the state machine."""

    step: Step
    role: Role
    gap_days: tuple[int, int]  # days since the previous step

    @property
    def name(self) -> str:
        return self.step._value_


_SUBMIT = _Step(Step.SUBMIT, Role.CASEWORKER, (0, 0))
_RETURN = _Step(Step.RETURN_FOR_CORRECTION, Role.CASEWORKER, (0, 2))
_ACCEPT = _Step(Step.ACCEPT, Role.CASEWORKER, (0, 3))
_INVESTIGATE = _Step(Step.INVESTIGATE, Role.CASEWORKER, (2, 10))
_TOWNSHIP = _Step(Step.TOWNSHIP_REVIEW, Role.CASEWORKER, (1, 7))
_NOTICE = _Step(Step.PUBLISH_NOTICE, Role.CASEWORKER, (1, 5))
_APPROVE = _Step(Step.APPROVE, Role.COUNTY_REVIEWER, (NOTICE_DAYS, 14))
_REJECT = _Step(Step.REJECT, Role.COUNTY_REVIEWER, (NOTICE_DAYS, 14))
_WITHDRAW = _Step(Step.WITHDRAW, Role.CASEWORKER, (1, 20))
_ACTIVATE = _Step(Step.ACTIVATE, Role.COUNTY_REVIEWER, (1, 10))
_SUSPEND = _Step(Step.SUSPEND, Role.COUNTY_REVIEWER, (60, 1_500))
_GRADUAL = _Step(Step.ENTER_GRADUAL_EXIT, Role.CASEWORKER, (60, 1_500))
_TERMINATE = _Step(Step.TERMINATE, Role.COUNTY_REVIEWER, (90, 2_000))
_ARCHIVE = _Step(Step.ARCHIVE, Role.COUNTY_REVIEWER, (ARCHIVE_AFTER_DAYS, 90))

_TO_NOTICE: Final = (_SUBMIT, _ACCEPT, _INVESTIGATE, _TOWNSHIP, _NOTICE)
_TO_ACTIVE: Final = (*_TO_NOTICE, _APPROVE, _ACTIVATE)
_CHAIN: Final[dict[HS, tuple[_Step, ...]]] = {
    HS.DRAFT: (),
    HS.SUBMITTED: _TO_NOTICE[:1],
    HS.AWAITING_CORRECTION: (_SUBMIT, _RETURN),
    HS.ACCEPTED: _TO_NOTICE[:2],
    HS.INVESTIGATED: _TO_NOTICE[:3],
    HS.TOWNSHIP_REVIEWED: _TO_NOTICE[:4],
    HS.NOTICE: _TO_NOTICE,
    HS.APPROVED: (*_TO_NOTICE, _APPROVE),
    HS.REJECTED: (*_TO_NOTICE, _REJECT),
    HS.WITHDRAWN: (*_TO_NOTICE[:2], _WITHDRAW),
    HS.ACTIVE: _TO_ACTIVE,
    HS.SUSPENDED: (*_TO_ACTIVE, _SUSPEND),
    HS.GRADUAL_EXIT: (*_TO_ACTIVE, _GRADUAL),
    HS.TERMINATED: (*_TO_ACTIVE, _TERMINATE),
    HS.ARCHIVED: (*_TO_ACTIVE, _TERMINATE, _ARCHIVE),
}
# Days between the last step and today. ACTIVE households were activated at
# least three months ago, so their two seeded payment periods make sense; the
# pending ones are recent, as a stage lasts days, not years; a gradual exit
# has not ended yet.
_DWELL: Final[dict[HS, tuple[int, int]]] = {
    HS.DRAFT: (0, 10),
    HS.SUBMITTED: (0, 5),
    HS.AWAITING_CORRECTION: (0, 20),
    HS.ACCEPTED: (0, 12),
    HS.INVESTIGATED: (0, 8),
    HS.TOWNSHIP_REVIEWED: (0, 5),
    HS.NOTICE: (0, 6),
    HS.APPROVED: (0, 8),
    HS.REJECTED: (1, 900),
    HS.WITHDRAWN: (1, 25),
    HS.ACTIVE: (95, 3_300),
    HS.SUSPENDED: (1, 120),
    HS.GRADUAL_EXIT: (1, 150),
    HS.TERMINATED: (1, 400),
    HS.ARCHIVED: (1, 700),
}
_MISSING: Final = ("户口簿复印件", "家庭经济状况核对授权书", "残疾证复印件", "收入证明")
_OBJECTION: Final = "村民反映申请人家庭有经营性收入，请核实"

_REASONS: Final[dict[str, tuple[str, ...]]] = {
    "SUBMIT": ("申请人提交低保申请及家庭经济状况核对授权书", "代为申请，提交申请材料"),
    "ACCEPT": ("申请材料齐全，予以受理", "材料补齐后受理"),
    "INVESTIGATE": ("入户调查完成，家庭收入、财产情况与申报一致", "入户调查完成，已邻里走访核实"),
    "TOWNSHIP_REVIEW": ("乡镇（街道）审核通过，拟提请公示", "经民主评议，审核通过"),
    "PUBLISH_NOTICE": ("在村（居）务公开栏公示7天", "公示7天，无异议"),
    "RETURN_FOR_CORRECTION": ("申请材料不齐全，一次性告知需补正的材料",),
    "WITHDRAW": ("申请人书面申请撤回", "申请人外出务工，主动撤回申请"),
    "ENTER_GRADUAL_EXIT": ("家庭成员就业，人均收入超过当地低保标准，给予渐退期",),
    "APPROVE": ("家庭人均收入低于当地低保标准，符合条件，予以批准",),
    "ACTIVATE": ("纳入低保，次月起按月发放低保金",),
    "SUSPEND": ("未按期参加年度复核，暂停发放", "家庭成员外出务工，收入情况待核实"),
    "ARCHIVE": ("终止保障满期，档案归档",),
}
_REJECT_INCOME = "经核查，家庭人均收入高于当地低保标准，不予批准"
# the decision's text and its coded reason, as the service records them
_REJECT_OTHER: Final = (
    ("家庭拥有非生活必需的机动车辆，不符合条件，不予批准", RejectionReason.ASSETS_ABOVE_LIMIT),
    ("家庭存款超过规定标准，不符合条件，不予批准", RejectionReason.ASSETS_ABOVE_LIMIT),
    ("公示期间接到实名举报并经核实，隐瞒家庭收入，不予批准", RejectionReason.FALSE_INFORMATION),
)
_TERMINATIONS: Final = (
    ("家庭人均收入超过当地低保标准，停止保障", TerminationReason.INCOME_ABOVE_LINE),
    ("户籍迁出本县，停止保障", TerminationReason.MOVED_AWAY),
    ("户主去世，家庭无其他共同生活成员", TerminationReason.DEATH),
    ("本人申请自愿退出", TerminationReason.VOLUNTARY),
)

# --------------------------------------------------------------------------- people

_PHONE_PREFIXES: Final = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "185", "186", "187", "188", "189",
)  # fmt: skip
# bank, card BIN, card length (synthetic account numbers carry a Luhn check digit);
# the last entry is the province's rural credit union.
_BANKS: Final = (
    ("中国邮政储蓄银行", "621799", 19),
    ("中国农业银行", "622848", 19),
    ("中国建设银行", "621700", 19),
    ("中国工商银行", "622202", 19),
    ("中国银行", "621661", 19),
    ("{province}农村信用社", "622688", 16),
)
_BANK_CUM: Final = tuple(itertools.accumulate((30, 28, 12, 10, 6, 14)))
# kinds of disability among disabled people (second national sample survey, 2006)
_DISABILITY_KINDS: Final = (
    (DisabilityKind.PHYSICAL, 29),
    (DisabilityKind.HEARING, 24),
    (DisabilityKind.MULTIPLE, 16),
    (DisabilityKind.VISUAL, 15),
    (DisabilityKind.MENTAL, 7),
    (DisabilityKind.INTELLECTUAL, 7),
    (DisabilityKind.SPEECH, 2),
)
# assets the seed draws are held to the shipped limits (domain/assets.py), as approval
# holds the service's; a refusal on assets names an asset over them
_ASSET_LIMITS: Final = AssetLimits()
_RURAL_ASSETS: Final = ("HOUSE", "LAND", "LIVESTOCK", "VEHICLE")
_URBAN_ASSETS: Final = ("HOUSE", "DEPOSIT", "VEHICLE")
# Common two-character given names by birth cohort, mixed with Faker's zh_CN lists.
_COHORT_NAMES: Final[dict[tuple[Sex, int], tuple[str, ...]]] = {
    (Sex.MALE, 0): ("建国", "国庆", "德明", "永福", "志刚", "国华", "振华", "树林", "长海",
                    "文斌", "宝山", "福全", "玉林", "金山", "立新", "德胜", "忠诚", "汉民"),
    (Sex.MALE, 1): ("海涛", "志强", "俊峰", "晓东", "伟东", "建波", "永刚", "明辉", "文杰",
                    "国栋", "春雷", "海军", "立伟", "少华", "晓明", "宏伟", "大鹏", "金龙"),
    (Sex.MALE, 2): ("子轩", "浩然", "宇航", "俊杰", "梓豪", "浩宇", "一鸣", "博文", "宇轩",
                    "子豪", "皓轩", "天佑", "铭泽", "思远", "嘉豪", "睿泽", "奕辰", "沐阳"),
    (Sex.FEMALE, 0): ("秀英", "桂兰", "淑珍", "玉兰", "凤英", "桂芝", "秀兰", "淑华", "玉珍",
                      "桂香", "素芬", "翠花", "金兰", "秀珍", "月娥", "凤芝", "玉芬", "素珍"),
    (Sex.FEMALE, 1): ("丽娟", "海燕", "晓燕", "春梅", "雪梅", "丽华", "红梅", "晓丽", "美玲",
                      "秀梅", "艳红", "丽萍", "小红", "玉梅", "冬梅", "春燕", "晓红", "静"),
    (Sex.FEMALE, 2): ("梓涵", "欣怡", "雨欣", "思琪", "诗涵", "佳怡", "一诺", "雨桐", "可馨",
                      "紫涵", "梦瑶", "子涵", "语桐", "佳琪", "欣妍", "若曦", "芷若", "安琪"),
}  # fmt: skip
_BUILDING_PLACES: Final = ("{a}栋{b}单元{c}室", "{a}号楼{b}单元{c}室")


@dataclass(slots=True)
class _Person:
    relation: Relation
    age: int
    sex: Sex
    surname: str = ""
    birth_date: dt.date = dt.date.min
    disability_grade: int | None = None
    disability_kind: DisabilityKind | None = None
    serious_illness: bool = False
    student: bool = False
    income_cents: int = 0


@dataclass(slots=True)
class _Batch:
    households: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    id_claims: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    benefits: list[dict[str, Any]] = field(default_factory=list)
    objections: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def table_order() -> tuple[Table, ...]:
        """The tables in foreign-key order."""
        models = (Household, Member, IdClaim, Review, Asset, Payment, BenefitHistory, Objection)
        return tuple(_table(m) for m in models)

    def tables(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        rows = (
            self.households,
            self.members,
            self.id_claims,
            self.reviews,
            self.assets,
            self.payments,
            self.benefits,
            self.objections,
        )
        return list(zip(self.table_order(), rows, strict=True))


@dataclass(slots=True)
class _Facts:
    """What a household's steps leave on its row."""

    changed_at: dt.datetime
    notice_ends_on: dt.date | None = None
    approved_on: dt.date | None = None
    approved_at: dt.datetime | None = None
    decided_on: dt.date | None = None
    closing_reasons: dict[str, Any] | None = None
    gradual_exit_until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class _Chunk:
    households: int
    members: int
    payments: int
    reviews: int
    tables: list[tuple[str, Any]]  # table name (a Table does not cross processes), rows
    sequences: dict[tuple[str, int], int]  # last archive sequence of each (village, year) used


@dataclass(frozen=True, slots=True)
class _Place:
    """A national township's share of a seed."""

    township: str
    villages: tuple[str, ...]
    households: int
    start: int  # households placed before it (the first few cycle through every status)
    slot: int  # its rank among this seed's townships of its county
    slots: int  # how many of them


def _places(townships: Sequence[tuple[tuple[str, ...], int]]) -> list[_Place]:
    per_county: dict[str, list[str]] = {}
    for villages, _n in townships:
        per_county.setdefault(villages[0][:6], []).append(villages[0][:9])
    places, start = [], 0
    for villages, n in townships:
        township = villages[0][:9]
        peers = per_county[township[:6]]
        places.append(_Place(township, villages, n, start, peers.index(township), len(peers)))
        start += n
    return places


def _units(places: Sequence[_Place], size: int) -> list[list[_Place]]:
    """Whole townships, in plan order, grouped to at least `size` households: the pieces
    the processes draw and the writer copies (a function of N alone)."""
    units: list[list[_Place]] = [[]]
    held = 0
    for place in places:
        if held >= size:
            units.append([])
            held = 0
        units[-1].append(place)
        held += place.households
    return [u for u in units if u]


class _Rng(random.Random):
    """`random.Random` with a cheaper `randint`: the same numbers from the same state
    (the stdlib's own `_randbelow`), without `randrange`'s argument handling, which
    was a tenth of a large seed's time over some fifty draws a household."""

    def __init__(self, seed: int | str) -> None:
        super().__init__(seed)
        # the stdlib's draw of an int below n (which typeshed does not declare)
        self._below: Callable[[int], int] = self._randbelow  # type: ignore[attr-defined]

    def randint(self, a: int, b: int) -> int:
        if b < a:
            raise ValueError(f"empty range for randint({a}, {b})")
        return a + self._below(b - a + 1)

    def below(self, n: int) -> int:
        """`randrange(n)`, likewise."""
        if n <= 0:
            raise ValueError(f"empty range for below({n})")
        return self._below(n)


def _id_stream() -> Iterator[str]:
    """Random row ids, as `new_id` makes them (32 hex digits), from one system call
    per 512: a uuid4 per row was a tenth of a large seed's time."""
    while True:
        raw = os.urandom(16 * 512).hex()
        yield from (raw[i : i + 32] for i in range(0, len(raw), 32))


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _cents(value: Decimal) -> int:
    return int(value * 100)


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str(-total % 10)


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return dt.date(today.year - years, 2, 28)


def _month_start(day: dt.date, back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


class _Generator:
    """Draws households. All choices come from one seeded PRNG, in a fixed order."""

    def __init__(
        self,
        cipher: Cipher,
        *,
        seed: int,
        today: dt.date,
        standards: dict[tuple[str, Area], Decimal],
        sequences: dict[tuple[str, int], int],
        taken_indexes: set[bytes],
        regions: Sequence[RegionRow] = REGIONS,
        townships: Sequence[tuple[tuple[str, ...], int]] | None = None,
    ) -> None:
        self.cipher = cipher
        # one sealer a column: the seed's values are its bulk of AES-GCM work
        self.seal_bank = cipher.sealer("households", "bank_account")
        self.seal_name = cipher.sealer("members", "name")
        self.seal_id_number = cipher.sealer("members", "id_number")
        self.seal_phone = cipher.sealer("members", "phone")
        self.seal_payment_bank = cipher.sealer("payments", "bank_account")
        self.today = today
        self.rng = _Rng(seed)
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        person = fake.provider("faker.providers.person")
        assert person is not None
        # Faker's weighted surname table and given names, drawn with our own PRNG:
        # a per-call Faker name would dominate the time of a large seed.
        self.surnames: tuple[str, ...] = tuple(person.last_names)
        self.surname_cum: tuple[float, ...] = tuple(
            itertools.accumulate(float(w) for w in person.last_names.values())
        )
        self.given: dict[Sex, tuple[str, ...]] = {
            Sex.MALE: tuple(person.first_names_male),
            Sex.FEMALE: tuple(person.first_names_female),
        }
        self.standards = standards
        self.sequences = sequences
        self.sequences_touched: set[tuple[str, int]] = set()
        self.taken_indexes = taken_indexes
        self.used_numbers: set[str] = set()
        self.regions = {r.code: r for r in regions}
        villages = [r.code for r in regions if r.level == "VILLAGE"]
        self.villages: dict[Area, tuple[str, ...]] = {
            area: tuple(v for v in villages if area_of_village(v) is area) for area in Area
        }
        # the national tree places households township by township, each up to its
        # caseload; the demo tree draws a track, then any village of it
        self.placement: Iterator[tuple[str, ...]] | None = (
            None
            if townships is None
            else itertools.chain.from_iterable(
                itertools.repeat(villages, n) for villages, n in townships
            )
        )
        self.count = 0
        self.seed = seed
        self.ids = _id_stream()
        # the share of the three-digit sequence codes this generator draws from (its
        # rank, how many share them): see `fill`
        self.id_slot = (0, 1)
        self.oldest_period = _month_start(today, 2)
        self.latest_period = _month_start(today, 1)

    def fill(self, place: _Place, batch: _Batch) -> None:
        """A national township's households, drawn from a PRNG of its own (the seed and
        the township's code): what a township gets does not depend on which process
        draws it, nor on what was drawn before. Townships of one county share the ID
        numbers' sequence codes (the place and birth date are theirs in common) by
        rank, so two processes never draw the same number."""
        self.rng = _Rng(f"{self.seed}:{place.township}")
        self.count = place.start
        self.id_slot = (place.slot, place.slots)
        self.placement = itertools.repeat(place.villages, place.households)
        for _ in range(place.households):
            self.household(batch)

    # -- small draws -------------------------------------------------------------

    def _pick_status(self) -> HS:
        # the first households cycle through every status on both tracks
        if self.count < 2 * len(_STATUSES):
            return _STATUSES[self.count % len(_STATUSES)]
        point = self.rng.random() * _STATUS_CUM[-1]
        return _STATUSES[bisect.bisect_right(_STATUS_CUM, point)]

    def _surname(self) -> str:
        point = self.rng.random() * self.surname_cum[-1]
        return self.surnames[
            min(bisect.bisect_right(self.surname_cum, point), len(self.surnames) - 1)
        ]

    def _given_name(self, sex: Sex, birth_year: int) -> str:
        rng = self.rng
        if rng.random() < 0.55:
            return rng.choice(self.given[sex])
        cohort = 0 if birth_year < 1970 else 1 if birth_year < 2000 else 2
        return rng.choice(_COHORT_NAMES[(sex, cohort)])

    def _moment(self, day: dt.date) -> dt.datetime:
        """A working-hours moment (Beijing time) on `day`, as UTC."""
        rng = self.rng
        # 08:00-16:59 in Beijing is 00:00-08:59 UTC of the same day: built in UTC
        # directly (the same instant as the local time moved to UTC, at a third the cost)
        return dt.datetime(
            day.year, day.month, day.day,
            rng.randint(8, 16) - 8, rng.randint(0, 59), rng.randint(0, 59),
            tzinfo=dt.UTC,
        )  # fmt: skip

    def _birth_date(self, age: int) -> dt.date:
        return _years_ago(self.today, age) - dt.timedelta(days=self.rng.randint(0, 364))

    def _phone(self) -> str:
        rng = self.rng
        return rng.choice(_PHONE_PREFIXES) + f"{rng.below(100_000_000):08d}"

    def _id_number(self, county: str, person: _Person) -> tuple[str, bytes]:
        """A valid ID number never used in this run nor stored before; the birth date
        moves a day back in the (practically impossible) case a date runs out."""
        rng = self.rng
        parity = 1 if person.sex is Sex.MALE else 0
        slot, slots = self.id_slot
        choices = (500 - slot + slots - 1) // slots
        for attempt in itertools.count():
            if attempt and attempt % 50 == 0:
                person.birth_date -= dt.timedelta(days=1)
            sequence = rng.below(500) if slots == 1 else slot + slots * rng.below(choices)
            number = make_id_number(county, person.birth_date, sequence * 2 + parity)
            if number in self.used_numbers:
                continue
            index = self.cipher.blind_index(number)
            if index in self.taken_indexes:
                continue
            self.used_numbers.add(number)
            return number, index
        raise AssertionError("unreachable")

    def _archive_no(self, village: str, year: int) -> str:
        key = (village, year)
        value = self.sequences.get(key, 0) + 1
        self.sequences[key] = value
        self.sequences_touched.add(key)
        return format_archive_no(village, year, value)

    # -- household composition --------------------------------------------------

    def _family(self) -> list[_Person]:
        rng = self.rng
        size = rng.choices((1, 2, 3, 4, 5, 6), weights=(13, 25, 30, 19, 9, 4))[0]
        head_sex = Sex.MALE if rng.random() < 0.62 else Sex.FEMALE
        other = Sex.FEMALE if head_sex is Sex.MALE else Sex.MALE

        def anyone() -> Sex:
            return Sex.MALE if rng.random() < 0.5 else Sex.FEMALE

        if size == 1:  # mostly elderly people living alone
            age = rng.randint(60, 92) if rng.random() < 0.8 else rng.randint(22, 59)
            return [_Person(Relation.HEAD, age, head_sex)]
        shape = rng.choices(("nuclear", "elderly", "three", "skip"), weights=(55, 15, 18, 12))[0]
        if size == 2 and shape == "three":
            shape = "nuclear"
        people: list[_Person] = []
        if shape == "elderly":  # an elderly couple, perhaps with a disabled adult child
            head = rng.randint(60, 86)
            people = [_Person(Relation.HEAD, head, head_sex)]
            people.append(_Person(Relation.SPOUSE, max(55, head + rng.randint(-5, 4)), other))
            while len(people) < size:
                people.append(
                    _Person(Relation.CHILD, rng.randint(max(18, head - 40), head - 22), anyone())
                )
            return people
        if shape == "skip":  # grandparents raising grandchildren (留守儿童)
            head = rng.randint(54, 78)
            people = [_Person(Relation.HEAD, head, head_sex)]
            if size >= 3 and rng.random() < 0.7:
                people.append(_Person(Relation.SPOUSE, max(50, head + rng.randint(-5, 4)), other))
            while len(people) < size:
                people.append(
                    _Person(Relation.GRANDCHILD, rng.randint(1, min(17, head - 38)), anyone())
                )
            return people
        head = rng.randint(30, 52) if shape == "three" else rng.randint(26, 58)
        people = [_Person(Relation.HEAD, head, head_sex)]
        if rng.random() < 0.8:
            people.append(_Person(Relation.SPOUSE, max(20, head + rng.randint(-6, 4)), other))
        if shape == "three":
            for _ in range(min(rng.randint(1, 2), size - len(people) - 1)):
                parent_age = min(95, head + rng.randint(22, 34))
                people.append(_Person(Relation.PARENT, parent_age, anyone()))
        youngest_parent = min(
            p.age for p in people if p.relation in (Relation.HEAD, Relation.SPOUSE)
        )
        while len(people) < size:
            hi = max(0, youngest_parent - 20)
            people.append(_Person(Relation.CHILD, rng.randint(max(0, hi - 22), hi), anyone()))
        return people

    def _name_family(self, people: Sequence[_Person]) -> None:
        head = people[0]
        head.surname = self._surname()
        spouse = next((p for p in people if p.relation is Relation.SPOUSE), None)
        if spouse is not None:
            spouse.surname = self._surname()
        father = head if head.sex is Sex.MALE or spouse is None else spouse
        for p in people[1:]:
            if p.relation in (Relation.CHILD, Relation.GRANDCHILD):
                p.surname = father.surname if self.rng.random() < 0.92 else head.surname
            elif p.relation is Relation.PARENT:
                p.surname = head.surname if p.sex is Sex.MALE else self._surname()

    def _health_and_income(self, people: Sequence[_Person], standard: Decimal) -> None:
        rng = self.rng
        std = _cents(standard)
        for p in people:
            if rng.random() < (0.085 if p.age >= 3 else 0.01):
                p.disability_grade = rng.choices((1, 2, 3, 4), weights=(15, 25, 30, 30))[0]
                p.disability_kind = rng.choices(
                    [k for k, _ in _DISABILITY_KINDS], weights=[w for _, w in _DISABILITY_KINDS]
                )[0]
            p.serious_illness = rng.random() < (0.09 if p.age >= 60 else 0.04)
            if 6 <= p.age <= 15:
                p.student = True
            elif 16 <= p.age <= 18:
                p.student = rng.random() < 0.8
            elif 19 <= p.age <= 22:
                p.student = rng.random() < 0.4
            roll = rng.random()
            if p.age < 16 or p.student:
                p.income_cents = 0
            elif p.age >= 60:  # basic pension for most
                if roll < 0.2:
                    p.income_cents = 0
                elif roll < 0.9:
                    p.income_cents = rng.randint(1_000, 3_000) * 10
                else:
                    p.income_cents = rng.randint(40, 120) * 1_000
            elif (p.disability_grade is not None and p.disability_grade <= 2) or p.serious_illness:
                p.income_cents = 0 if roll < 0.8 else rng.randint(10, 30) * 1_000
            elif roll < 0.3:
                p.income_cents = 0
            elif roll < 0.75:
                p.income_cents = int(std * rng.uniform(0.2, 1.0)) // 1_000 * 1_000
            else:
                p.income_cents = int(std * rng.uniform(1.0, 2.2)) // 1_000 * 1_000

    def _qualify(self, people: Sequence[_Person], standard: Decimal) -> None:
        """Lower the highest incomes until per-capita income is below the standard."""
        while not is_eligible(standard, [_money(p.income_cents) for p in people]):
            top = max(people, key=lambda p: p.income_cents)
            top.income_cents = self.rng.randint(0, top.income_cents // 2) // 1_000 * 1_000

    def _disqualify(self, people: Sequence[_Person], standard: Decimal) -> None:
        """Raise the head's income so per-capita income is above the standard."""
        incomes = [_money(p.income_cents) for p in people]
        if is_eligible(standard, incomes):
            gap = _cents(standard) * len(people) - sum(p.income_cents for p in people)
            people[0].income_cents += (gap // 1_000 + self.rng.randint(5, 60)) * 1_000

    def _review_class(self, people: Sequence[_Person]) -> ReviewClass:
        """The service's own rule (domain.workflow.review_class), on the seeded people."""
        return review_class(
            [
                MemberSituation(
                    age=age_on(p.birth_date, self.today),
                    disabled=p.disability_grade is not None and p.disability_grade <= 2,
                    seriously_ill=p.serious_illness,
                    student=p.student,
                    has_income=p.income_cents > 0,
                )
                for p in people
            ]
        )

    # -- the household -------------------------------------------------------------

    def household(self, batch: _Batch) -> None:
        rng = self.rng
        status = self._pick_status()
        showcase = False
        if self.placement is not None:
            village = rng.choice(next(self.placement))
            area = area_of_village(village)
        else:
            area = Area.RURAL if rng.random() < 0.6 else Area.URBAN
            village = rng.choice(self.villages[area])
            showcase = self.count < 2 * len(_STATUSES)
            if showcase:
                # ... in one township, so that the demo's caseworker, county reviewer and
                # finance officer each see every state of the chain on both tracks
                area = Area.URBAN if self.count < len(_STATUSES) else Area.RURAL
                village = next(v for v in self.villages[area] if v.startswith(SHOWCASE_TOWNSHIP))
        self.count += 1
        county = county_of(village)
        standard = self.standards[(county, area)]

        # timeline: steps forward from the application, which lies far enough back
        steps = _CHAIN[status]
        gaps = [rng.randint(*s.gap_days) for s in steps]
        dwell = rng.randint(*_DWELL[status])
        if showcase and status is HS.ACTIVE:
            # the demo township shows a household whose periodic check is due
            dwell = 400 + rng.randint(0, 30)
        elif showcase and status is HS.ACCEPTED:
            # ... and a case past its 30 working days from acceptance (时限)
            dwell = 60 + rng.randint(0, 10)
        applied_day = self.today - dt.timedelta(days=sum(gaps) + dwell)
        applied_at = self._moment(applied_day)
        day = applied_day
        step_times: list[dt.datetime] = []
        for gap in gaps:
            day += dt.timedelta(days=gap)
            moment = applied_at if not step_times else self._moment(day)
            if step_times and moment <= step_times[-1]:  # same day: keep the order
                moment = step_times[-1] + dt.timedelta(minutes=rng.randint(5, 90))
            step_times.append(moment)

        archive_no = self._archive_no(village, applied_day.year)

        # people
        people = self._family()
        self._name_family(people)
        for p in people:
            p.birth_date = self._birth_date(p.age)
        self._health_and_income(people, standard)
        reject_for_income = status is HS.REJECTED and rng.random() < 0.6
        if status in _QUALIFIED:
            self._qualify(people, standard)
        elif reject_for_income:
            self._disqualify(people, standard)
        incomes = [_money(p.income_cents) for p in people]
        benefit = monthly_benefit(standard, incomes) if status in _BENEFIT_STATUSES else None
        klass = self._review_class(people) if status in _CLASSIFIED else None
        if status is HS.GRADUAL_EXIT:
            # approved and paid, then an income rose above the line: the benefit is kept
            self._disqualify(people, standard)

        # bank account: always where money is paid, most others too
        bank_account: str | None = None
        bank_name: str | None = None
        if status in _BENEFIT_STATUSES or rng.random() < 0.85:
            point = rng.random() * _BANK_CUM[-1]
            bank, bin_, length = _BANKS[bisect.bisect_right(_BANK_CUM, point)]
            bank_name = bank.format(province=self.regions[village[:2]].name)
            body = bin_ + "".join(rng.choices("0123456789", k=length - len(bin_) - 1))
            bank_account = body + _luhn(body)

        village_row = self.regions[village]
        place = village_row.name.removesuffix("居委会").removesuffix("委会")
        if area is Area.URBAN:
            place += rng.choice(_BUILDING_PLACES).format(
                a=rng.randint(1, 30),
                b=rng.randint(1, 6),
                c=rng.randint(1, 7) * 100 + rng.randint(1, 4),
            )
        else:
            place += f"{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
        address = self._region_path(village) + place

        township = village[:9]
        reviews, facts = self._chain(
            steps,
            step_times,
            applied_at=applied_at,
            archive_no=archive_no,
            scope={Role.CASEWORKER: township, Role.COUNTY_REVIEWER: county},
            reject_for_income=reject_for_income,
        )
        changed_at = facts.changed_at
        next_review_on: dt.date | None = None
        if status is HS.ACTIVE and klass is not None:
            # the last periodic check lies within the household's interval (none yet
            # when it was activated more recently than that, or when one is due)
            activated = changed_at.astimezone(_BEIJING).date()
            months = REVIEW_MONTHS[klass]
            checked = self.today - dt.timedelta(days=rng.randint(1, months * 30 - 1))
            if checked > activated and not showcase:
                at = self._moment(checked)
                reviews.append(
                    self._review(
                        archive_no, Step.COMPLETE_REVIEW, HS.ACTIVE, HS.ACTIVE, at,
                        actor=f"{Role.CASEWORKER.value}-{township}-{rng.randint(1, 3):02d}",
                        role=Role.CASEWORKER, reason="定期核查：家庭情况无变化，继续保障",
                        details={"outcome": "CONTINUE"},
                    )
                )  # fmt: skip
                next_review_on = next_review(checked, klass)
            else:
                next_review_on = next_review(activated, klass)
        batch.reviews.extend(reviews)
        if benefit is not None and facts.approved_on is not None:
            batch.benefits.append(
                {
                    "id": next(self.ids),
                    "archive_no": archive_no,
                    "amount": benefit,
                    "effective_from": next_month_start(facts.approved_on),  # 下月起
                    "members": len(people),
                    "income": sum(incomes, Decimal("0.00")),
                    "covered_incomes": None,  # the seed makes no single-person cover
                    "reason": "approved",
                    "created_at": facts.approved_at,
                    "created_by": SEEDED_BY,
                }
            )
        if status is HS.NOTICE and showcase:
            # an objection the county has not decided yet: it blocks the approval
            batch.objections.append(
                {
                    "id": next(self.ids),
                    "archive_no": archive_no,
                    "text": _OBJECTION,
                    "recorded_by": f"{Role.CASEWORKER.value}-{township}-01",
                    "created_at": changed_at + dt.timedelta(hours=rng.randint(2, 30)),
                    "status": ObjectionStatus.OPEN.value,
                    "resolution": None,
                    "resolved_by": None,
                    "resolved_at": None,
                }
            )
        batch.households.append(
            {
                "archive_no": archive_no,
                "village_code": village,
                "area": area.value,
                "status": status.value,
                "address": address,
                "bank_account_enc": None
                if bank_account is None
                else self.seal_bank(bank_account, archive_no),
                "bank_name": bank_name,
                "monthly_benefit": benefit,
                "review_class": None if klass is None else klass.value,
                "version": 1,
                "notice_ends_on": facts.notice_ends_on if status is HS.NOTICE else None,
                "next_review_on": next_review_on,
                "review_flag": None,
                "decided_on": facts.decided_on,
                "closing_reasons": facts.closing_reasons,
                "termination_proposal": None,
                "gradual_exit_until": facts.gradual_exit_until,
                "missing_materials": (
                    sorted(rng.sample(_MISSING, rng.randint(1, 3)))
                    if status is HS.AWAITING_CORRECTION
                    else None
                ),
                "county_visit_on": None,
                "single_person_cover": False,
                "legacy_archive_no": None,  # seeded archives were never on paper
                "marginal": is_marginal(
                    status,
                    standard,
                    [_money(p.income_cents) for p in people],
                    MARGINAL_MULTIPLE,
                ),
                "applied_at": applied_at,
                "status_changed_at": changed_at,
                "created_at": applied_at,
                "updated_at": max([changed_at, *(r["created_at"] for r in reviews[-1:])]),
                "created_by": SEEDED_BY,
            }
        )

        claiming = status in CLAIMING_STATUSES
        names: set[str] = set()
        for position, p in enumerate(people):
            member_id = next(self.ids)
            number, index = self._id_number(county, p)
            name = p.surname + self._given_name(p.sex, p.birth_date.year)
            while name in names:  # no two members of one household share a name
                name = p.surname + self._given_name(p.sex, p.birth_date.year)
            names.add(name)
            age = age_on(p.birth_date, self.today)
            has_phone = age >= 18 and rng.random() < (0.6 if age >= 70 else 0.88)
            batch.members.append(
                {
                    "id": member_id,
                    "archive_no": archive_no,
                    "position": position,
                    "relation": p.relation.value,
                    "name_enc": self.seal_name(name, member_id),
                    "id_number_enc": self.seal_id_number(number, member_id),
                    "id_index": index,
                    "sex": p.sex.value,
                    "birth_date": p.birth_date,
                    "phone_enc": self.seal_phone(self._phone(), member_id) if has_phone else None,
                    "monthly_income": _money(p.income_cents),
                    "disability_grade": p.disability_grade,
                    "disability_kind": (
                        None if p.disability_kind is None else p.disability_kind.value
                    ),
                    "covered": False,
                    "serious_illness": p.serious_illness,
                    "student": p.student,
                    "active": True,
                    "staff_relative": False,
                }
            )
            if claiming:
                batch.id_claims.append(
                    {
                        "id_index": index,
                        "archive_no": archive_no,
                        "member_id": member_id,
                        "claimed_at": applied_at,
                    }
                )

        limits = _ASSET_LIMITS.for_county(county)
        declared: list[tuple[str, str, Decimal]] = []
        for _ in range(rng.choices((0, 1, 2), weights=(40, 45, 15))[0]):
            drawn = self._asset(area)
            # within the limits, as every case approval could see (domain.assets)
            if not kinds_over_limit([(k, v) for k, _, v in [*declared, drawn]], limits):
                declared.append(drawn)
        refused_on = self._refused_asset(reviews)
        if refused_on is not None:  # the county refused on assets: one is over the limit
            declared.append(self._asset_over(refused_on, limits[refused_on]))
        for kind, description, value in declared:
            batch.assets.append(
                {
                    "id": next(self.ids),
                    "archive_no": archive_no,
                    "kind": kind,
                    "description": description,
                    "value": value,
                }
            )

        if status is HS.ACTIVE and benefit is not None and bank_account is not None:
            for period_start, paid in ((self.oldest_period, True), (self.latest_period, False)):
                if facts.approved_on is None or period_start < next_month_start(facts.approved_on):
                    continue  # paid from the month after the approval, as the batch does
                payment_id = next(self.ids)
                created = self._moment(period_start + dt.timedelta(days=rng.randint(4, 9)))
                batch.payments.append(
                    {
                        "id": payment_id,
                        "archive_no": archive_no,
                        "county_code": county,
                        "period": f"{period_start:%Y-%m}",
                        "amount": benefit,
                        "status": (
                            PaymentStatus.DISBURSED if paid else PaymentStatus.PENDING
                        ).value,
                        "bank_account_enc": self.seal_payment_bank(bank_account, payment_id),
                        "bank_reference": f"{rng.below(10**16):016d}" if paid else None,
                        "batch_id": None,
                        "attempts": 1,
                        "failure_reason": None,
                        "kind": PaymentKind.REGULAR.value,
                        "seq": 0,
                        "created_at": created,
                        "updated_at": created + dt.timedelta(days=rng.randint(1, 4))
                        if paid
                        else created,
                    }
                )

    def _chain(
        self,
        steps: Sequence[_Step],
        times: Sequence[dt.datetime],
        *,
        applied_at: dt.datetime,
        archive_no: str,
        scope: dict[Role, str],
        reject_for_income: bool,
    ) -> tuple[list[dict[str, Any]], _Facts]:
        """The review rows of the steps, each moved through the service's state machine
        (domain.workflow.next_status) on its own day: what it refuses, the seed cannot
        write; and what the steps leave on the household (dates, coded reasons)."""
        rng = self.rng
        facts = _Facts(changed_at=applied_at)
        rows: list[dict[str, Any]] = []
        current, since = HS.DRAFT, None
        for step, at in zip(steps, times, strict=True):
            day = at.astimezone(_BEIJING).date()
            details: dict[str, Any] | None = None
            if step.step is Step.REJECT:
                reason, code = (
                    (_REJECT_INCOME, RejectionReason.INCOME_ABOVE_LINE)
                    if reject_for_income
                    else rng.choice(_REJECT_OTHER)
                )
                details = {"reasons": [code.value]}
                facts.closing_reasons = {"step": step.name, "reasons": [code.value]}
                facts.decided_on = day
            elif step.step is Step.TERMINATE:
                reason, ended = rng.choice(_TERMINATIONS)
                details = {"reasons": [ended.value]}
                facts.closing_reasons = {"step": step.name, "reasons": [ended.value]}
                facts.decided_on = day
            else:
                reason = rng.choice(_REASONS[step.name])
            if step.step is Step.INVESTIGATE:
                details = {"visitors": rng.randint(2, 3), "visited_on": day.isoformat()}
            elif step.step is Step.PUBLISH_NOTICE:
                details = {"notice_days": NOTICE_DAYS}
            target = next_status(
                current,
                step.step,
                reason=reason,
                situation=Situation(
                    today=day,
                    notice_ends_on=facts.notice_ends_on,
                    status_since=since or day,
                    archive_after_days=ARCHIVE_AFTER_DAYS,
                ),
            )
            if step.step is Step.PUBLISH_NOTICE:
                facts.notice_ends_on = notice_end(day)
            elif step.step is Step.APPROVE:
                facts.approved_on, facts.approved_at, facts.decided_on = day, at, day
            elif step.step is Step.ENTER_GRADUAL_EXIT:
                facts.gradual_exit_until = gradual_exit_end(day)
            rows.append(
                self._review(
                    archive_no,
                    step.step,
                    None if step.step is Step.SUBMIT else current,
                    target,
                    at,
                    actor=f"{step.role._value_}-{scope[step.role]}-{rng.randint(1, 3):02d}",
                    role=step.role,
                    reason=reason,
                    details=details,
                )
            )
            current, since, facts.changed_at = target, day, at
        return rows, facts

    def _review(
        self,
        archive_no: str,
        step: Step,
        from_status: HS | None,
        to_status: HS,
        at: dt.datetime,
        *,
        actor: str,
        role: Role,
        reason: str,
        details: dict[str, Any] | None,
    ) -> dict[str, Any]:
        # `_value_`: the member's value without the `value` property's descriptor, which
        # was a twentieth of a large seed's time at some fifty lookups a household
        return {
            "id": next(self.ids),
            "archive_no": archive_no,
            "step": step._value_,
            "from_status": None if from_status is None else from_status._value_,
            "to_status": to_status._value_,
            "actor": actor,
            "actor_role": role._value_,
            "reason": reason,
            "details": details,
            "created_at": at,
        }

    def _region_path(self, village: str) -> str:
        names = []
        for length in (2, 4, 6, 9):
            names.append(self.regions[village[:length]].name)
        return "".join(names)

    @staticmethod
    def _refused_asset(reviews: Sequence[dict[str, Any]]) -> AssetKind | None:
        """The kind of asset a refusal on assets names (its text), if it was one."""
        last = reviews[-1] if reviews else None
        if last is None or last["step"] != Step.REJECT.value:
            return None
        if RejectionReason.ASSETS_ABOVE_LIMIT.value not in (last["details"] or {}).get(
            "reasons", []
        ):
            return None
        return AssetKind.VEHICLE if "车辆" in last["reason"] else AssetKind.DEPOSIT

    def _asset_over(self, kind: AssetKind, limit: Decimal) -> tuple[str, str, Decimal]:
        over = limit + _money(self.rng.randint(1, 60) * 100_000)
        if kind is AssetKind.VEHICLE:
            return kind.value, "小型轿车", over
        return kind.value, "银行存款", over

    def _asset(self, area: Area) -> tuple[str, str, Decimal]:
        rng = self.rng
        kinds = _RURAL_ASSETS if area is Area.RURAL else _URBAN_ASSETS
        kind = rng.choice(kinds)
        if kind == "HOUSE":
            if area is Area.RURAL:
                rooms = rng.randint(2, 5)
                return kind, f"自建砖瓦房{rooms}间", _money(rooms * rng.randint(40, 200) * 10_000)
            size = rng.randint(30, 70)
            return kind, f"自有住房{size}平方米", _money(size * rng.randint(20, 60) * 10_000 * 10)
        if kind == "LAND":
            mu = rng.randint(2, 15)
            return kind, f"承包耕地{mu}亩", _money(mu * rng.randint(5, 12) * 10_000)
        if kind == "LIVESTOCK":
            animal, unit_price = rng.choice((("生猪", 1_500), ("黄牛", 8_000), ("山羊", 900)))
            n = rng.randint(1, 4)
            return kind, f"{animal}{n}头", _money(n * unit_price * 100)
        if kind == "DEPOSIT":
            return kind, "银行存款", _money(rng.randint(5, 300) * 10_000)
        vehicle, low, high = rng.choice(
            (("电动自行车", 800, 3_000), ("农用三轮车", 3_000, 9_000), ("二手摩托车", 1_000, 4_000))
        )
        return kind, vehicle, _money(rng.randint(low, high) * 100)


# --------------------------------------------------------------------------- writers


class _Writer(Protocol):
    def prepare(self, table: str, rows: list[dict[str, Any]]) -> Any:
        """Convert rows for `write`; pure CPU work, safe in a worker thread or process."""

    async def write(self, table: str, prepared: Any) -> None: ...


_Processor = Any  # a column type's bind processor, or None
_TABLES: Final = {t.name: t for t in _Batch.table_order()}


class _CopyPreparer:
    """PostgreSQL rows as COPY takes them: tuples in column order, values converted by
    the column types (for the asyncpg dialect, which a worker process builds itself)."""

    def __init__(self, dialect: Dialect) -> None:
        self._plans: dict[str, tuple[list[str], Any, list[tuple[str, _Processor]]]] = {}
        for table in _Batch.table_order():
            names = [c.name for c in table.columns]
            # booleans and moments (UTC-aware, as the seed builds them all) go to COPY as
            # they are: their processors would return them unchanged, at some 300,000
            # calls a 20,000 households' chunk; money and JSON still go through theirs
            processed = [
                (c.name, p)
                for c in table.columns
                if not isinstance(c.type, Boolean | UtcDateTime)
                and (p := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None
            ]
            self._plans[table.name] = (names, itemgetter(*names), processed)

    def prepare(self, table: str, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        _names, getter, processed = self._plans[table]
        for name, processor in processed:  # the rows are the seed's own: converted in place
            for row in rows:
                value = row[name]
                if value is not None:
                    row[name] = processor(value)
        return list(map(getter, rows))


class _CopyWriter(_CopyPreparer):
    """PostgreSQL: binary COPY through asyncpg."""

    def __init__(self, pg: Any, dialect: Dialect) -> None:
        super().__init__(dialect)
        self._pg = pg

    async def write(self, table: str, prepared: Any) -> None:
        if not prepared:
            return
        if not self._pg.is_in_transaction():
            raise RuntimeError("COPY must run inside the seed transaction")
        names, _getter, _processed = self._plans[table]
        await self._pg.copy_records_to_table(table, records=prepared, columns=names)


class _CorePreparer:
    def prepare(self, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows


class _CoreWriter(_CorePreparer):
    """SQLite (and any other backend): Core executemany, which converts through the column types."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def write(self, table: str, prepared: Any) -> None:
        rows: list[dict[str, Any]] = prepared
        for start in range(0, len(rows), _SQLITE_ROWS_PER_EXECUTE):
            await self._conn.execute(
                insert(_TABLES[table]), rows[start : start + _SQLITE_ROWS_PER_EXECUTE]
            )


# --------------------------------------------------------------------------- producers


def _chunk(
    gen: _Generator,
    prepare: Callable[[str, list[dict[str, Any]]], Any],
    draw: Callable[[_Batch], int],
) -> _Chunk:
    """Draw a chunk's households (`draw` says how many it drew) and convert their rows."""
    gen.sequences_touched = set()
    batch = _Batch()
    n = draw(batch)
    return _Chunk(
        households=n,
        members=len(batch.members),
        payments=len(batch.payments),
        reviews=len(batch.reviews),
        tables=[(table.name, prepare(table.name, rows)) for table, rows in batch.tables()],
        sequences={key: gen.sequences[key] for key in gen.sequences_touched},
    )


def _draw_demo(gen: _Generator, n: int) -> Callable[[_Batch], int]:
    def draw(batch: _Batch) -> int:
        for _ in range(n):
            gen.household(batch)
        return n

    return draw


def _draw_unit(gen: _Generator, unit: Sequence[_Place]) -> Callable[[_Batch], int]:
    def draw(batch: _Batch) -> int:
        for place in unit:
            gen.fill(place, batch)
        return sum(p.households for p in unit)

    return draw


async def _threaded(jobs: Sequence[Callable[[], _Chunk]]) -> AsyncGenerator[_Chunk, None]:
    """Chunks drawn in a thread, the next while this one is written: Python's CPU work
    overlaps the database's, one chunk at a time (one generator)."""
    pending: asyncio.Future[_Chunk] | None = None
    try:
        for i in range(len(jobs)):
            chunk = await (pending or asyncio.ensure_future(asyncio.to_thread(jobs[i])))
            pending = None
            if i + 1 < len(jobs):
                pending = asyncio.ensure_future(asyncio.to_thread(jobs[i + 1]))
            yield chunk
    finally:
        if pending is not None:  # a write failed: let the worker finish before unwinding
            await asyncio.gather(pending, return_exceptions=True)


# the generator of a worker process (`_pooled`), built once by its initializer
_WORKER: dict[str, Any] = {}


def _worker_start(copy: bool, ring: KeyRing, settings: dict[str, Any]) -> None:
    _WORKER["gen"] = _Generator(Cipher(ring), **settings)
    _WORKER["prepare"] = (
        _CopyPreparer(make_url("postgresql+asyncpg://").get_dialect()()).prepare
        if copy
        else _CorePreparer().prepare
    )


def _worker_unit(unit: list[_Place]) -> _Chunk:
    gen = _WORKER["gen"]
    return _chunk(gen, _WORKER["prepare"], _draw_unit(gen, unit))


async def _pooled(
    units: Sequence[list[_Place]], workers: int, initargs: tuple[Any, ...]
) -> AsyncGenerator[_Chunk, None]:
    """National units drawn in worker processes (the seed is CPU-bound in Python, and
    one process uses one core), handed on in plan order; a few units ahead at most,
    so memory stays bounded. Each township has its own PRNG: the archive is the same
    whatever the number of processes."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_start, initargs=initargs
    )
    ahead: deque[asyncio.Future[_Chunk]] = deque()
    try:
        queue = iter(units)
        for unit in itertools.islice(queue, workers * 2):
            ahead.append(asyncio.wrap_future(pool.submit(_worker_unit, unit)))
        while ahead:
            chunk = await ahead.popleft()
            following = next(queue, None)
            if following is not None:
                ahead.append(asyncio.wrap_future(pool.submit(_worker_unit, following)))
            yield chunk
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- reference data


async def _ensure_regions(conn: AsyncConnection, regions: Sequence[RegionRow]) -> None:
    present = set((await conn.execute(select(Region.code))).scalars())
    missing = [r._asdict() for r in regions if r.code not in present]
    if missing:
        await conn.execute(insert(_table(Region)), missing)


async def _ensure_standards(
    conn: AsyncConnection, today: dt.date, shipped: Mapping[tuple[str, Area], Decimal]
) -> dict[tuple[str, Area], Decimal]:
    """Insert the shipped standard for each county and track that has none; return the
    standard in force today (or the earliest known, if none is in force yet)."""
    rows = (
        await conn.execute(
            select(Standard.county_code, Standard.area, Standard.monthly_amount,
                   Standard.effective_from, Standard.effective_to)
            .order_by(Standard.effective_from)
        )
    ).all()  # fmt: skip
    known = {(r.county_code, Area(r.area)) for r in rows}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    missing = [
        {
            "id": new_id(),
            "county_code": county,
            "area": area.value,
            "monthly_amount": amount,
            "effective_from": STANDARDS_FROM,
            "effective_to": None,
            "created_at": now,
            "created_by": SEEDED_BY,
        }
        for (county, area), amount in shipped.items()
        if (county, area) not in known
    ]
    if missing:
        await conn.execute(insert(_table(Standard)), missing)
    in_force = dict(shipped)
    for r in rows:
        key = (r.county_code, Area(r.area))
        if r.effective_from <= today and (r.effective_to is None or r.effective_to > today):
            in_force[key] = r.monthly_amount
    return in_force


async def _load_sequences(conn: AsyncConnection) -> dict[tuple[str, int], int]:
    """Last archive sequence per (village, year): the larger of the sequence table and
    the numbers actually present, so a household inserted by other means is not reused."""
    found: dict[tuple[str, int], int] = {}
    for village, year, last in await conn.execute(
        select(ArchiveSequence.village_code, ArchiveSequence.year, ArchiveSequence.last_value)
    ):
        found[(village, int(year))] = int(last)
    village_part = func.substr(Household.archive_no, 1, 12)
    year_part = func.substr(Household.archive_no, 14, 4)
    for village, year, last in await conn.execute(
        select(village_part, year_part, func.max(func.substr(Household.archive_no, 19, 6)))
        .group_by(village_part, year_part)
    ):  # fmt: skip
        key = (str(village), int(year))
        found[key] = max(found.get(key, 0), int(last))
    return found


async def _save_sequences(
    conn: AsyncConnection, used: dict[tuple[str, int], int], existing: set[tuple[str, int]]
) -> None:
    table = _table(ArchiveSequence)
    new_rows = [
        {"village_code": v, "year": y, "last_value": used[(v, y)]}
        for v, y in sorted(used.keys() - existing)
    ]
    if new_rows:
        await conn.execute(insert(table), new_rows)
    for v, y in sorted(used.keys() & existing):
        await conn.execute(
            update(table)
            .where(table.c.village_code == v, table.c.year == y)
            .values(last_value=used[(v, y)])
        )


async def _drop_for_load(conn: AsyncConnection) -> list[str]:
    """Drop the keys and indexes of the tables a seed fills, and return the statements
    that make them again, in an order that works (keys, indexes, foreign keys): an
    index built once over the loaded rows costs a fraction of one maintained row by
    row through COPY (random row ids put each insert on another page of a primary key
    larger than the database's buffers at national size), and COPY checks each row's
    foreign keys by a trigger of its own, where adding a key back checks them all in
    one join. The foreign keys of other tables that point at them go too (those tables
    are empty when these are). Only into empty tables (a first seed), in the seed's
    transaction: a failure restores them with the rest."""
    tables = {"tables": [t.name for t in _Batch.table_order()]}
    foreign = await conn.execute(
        text(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
            " JOIN pg_class r ON r.oid = c.confrelid"
            " WHERE c.contype = 'f' AND (t.relname = ANY(:tables) OR r.relname = ANY(:tables))"
            " AND t.relnamespace = 'public'::regnamespace ORDER BY 1, 2"
        ),
        tables,
    )
    foreign_keys = [(str(t), str(name), str(definition)) for t, name, definition in foreign]
    keyed = await conn.execute(
        text(
            "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
            " WHERE c.contype IN ('p', 'u') AND t.relname = ANY(:tables)"
            " AND t.relnamespace = 'public'::regnamespace ORDER BY 1, 2"
        ),
        tables,
    )
    keys = [(str(t), str(name), str(definition)) for t, name, definition in keyed]
    indexed = await conn.execute(
        text(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE t.relname = ANY(:tables) AND t.relnamespace = 'public'::regnamespace"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            " ORDER BY 1"
        ),
        tables,
    )
    indexes = [(str(name), str(definition)) for name, definition in indexed]
    for table, name, _definition in [*foreign_keys, *keys]:
        await conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'))
    for name, _definition in indexes:
        await conn.execute(text(f'DROP INDEX "{name}"'))
    return [
        *(f'ALTER TABLE "{t}" ADD CONSTRAINT "{n}" {d}' for t, n, d in keys),
        *(definition for _name, definition in indexes),
        *(f'ALTER TABLE "{t}" ADD CONSTRAINT "{n}" {d}' for t, n, d in foreign_keys),
    ]


# --------------------------------------------------------------------------- entry point


async def seed(
    engine: AsyncEngine,
    cipher: Cipher,
    *,
    households: int,
    seed: int = 0,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
    regions: Literal["demo", "national"] = "demo",
    workers: int | None = None,
) -> SeedReport:
    """Insert regions and standards where missing, then `households` synthetic archives
    with members, ID claims, review chains, assets, payments and archive sequences.

    `regions="demo"` spreads them over the small shipped tree the demo and the tests
    name (`store.regions_data`); `"national"` over the generated national tree
    (`store.regions_national`), township by township at real caseloads, so a scope
    holds as many households as it would in the field. A second national seed fills
    the same counties again.

    A national seed draws its townships in `workers` processes (default: one per
    core), the same archive whatever their number; the demo tree's in this one."""
    if households < 0:
        raise ValueError("households must not be negative")
    started = time.perf_counter()
    day = today if today is not None else dt.datetime.now(dt.UTC).date()
    postgres = engine.dialect.name == "postgresql"
    async with engine.connect() as conn, conn.begin():
        counts = await _seed_in(
            conn, cipher, households, seed, day, progress,
            postgres=postgres, regions=regions,
            workers=os.cpu_count() or 1 if workers is None else workers,
        )  # fmt: skip
    return SeedReport(*counts, seconds=time.perf_counter() - started)


async def _seed_in(
    conn: AsyncConnection,
    cipher: Cipher,
    households: int,
    seed_value: int,
    today: dt.date,
    progress: Callable[[int], None] | None,
    *,
    postgres: bool,
    regions: Literal["demo", "national"],
    workers: int,
) -> tuple[int, int, int, int]:
    tree: Sequence[RegionRow] = REGIONS
    shipped: Mapping[tuple[str, Area], Decimal] = STANDARDS
    townships = None
    if regions == "national":
        plan = national_plan(households)
        tree, shipped, townships = plan.rows, plan.standards, plan.townships
    await _ensure_regions(conn, tree)
    standards = await _ensure_standards(conn, today, shipped)
    sequences = await _load_sequences(conn)
    existing_keys = set(sequences)
    taken = set((await conn.execute(select(Member.id_index))).scalars())
    settings: dict[str, Any] = {
        "seed": seed_value,
        "today": today,
        "standards": standards,
        "sequences": sequences,
        "taken_indexes": taken,
        "regions": tree,
    }
    gen = _Generator(cipher, **settings, townships=townships)
    writer: _Writer
    deferred: list[str] = []
    if postgres:
        # the duplicates table's triggers (migration 0025) would refresh every seeded
        # person; a seed stores no ID number held before nor any twice, so it makes no
        # duplicate and the table stands as it is (SQLite's per-row triggers just run)
        # a bulk load an operator runs: building a key over millions of rows takes
        # longer than the service's statement timeout allows a request
        await conn.execute(text("SET LOCAL statement_timeout = 0"))
        await conn.execute(text("SET LOCAL dibao.duplicates_deferred = 'on'"))
        await conn.execute(text(f"SET LOCAL {tallies.DEFERRED_SETTING} = 'on'"))
        raw = await conn.get_raw_connection()
        writer = _CopyWriter(raw.driver_connection, conn.dialect)
        if not sequences and households >= _DEFER_INDEXES_FROM:
            deferred = await _drop_for_load(conn)
            # the index builds sort in memory rather than in temporary files
            await conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    else:
        writer = _CoreWriter(conn)

    chunks: AsyncGenerator[_Chunk, None]
    if townships is None:  # the demo tree: one generator, one PRNG, in order
        sizes = [min(CHUNK_SIZE, households - start) for start in range(0, households, CHUNK_SIZE)]
        chunks = _threaded(
            [functools.partial(_chunk, gen, writer.prepare, _draw_demo(gen, n)) for n in sizes]
        )
    else:
        units = _units(_places(townships), CHUNK_SIZE)
        if workers > 1 and len(units) > 1:
            chunks = _pooled(units, workers, (postgres, cipher.keys, settings))
        else:
            chunks = _threaded(
                [functools.partial(_chunk, gen, writer.prepare, _draw_unit(gen, u)) for u in units]
            )
    done = members = payments = reviews = 0
    used: dict[tuple[str, int], int] = {}
    async with aclosing(chunks):
        async for chunk in chunks:
            for table, prepared in chunk.tables:
                await writer.write(table, prepared)
            used.update(chunk.sequences)
            done += chunk.households
            members += chunk.members
            payments += chunk.payments
            reviews += chunk.reviews
            if progress is not None:
                progress(done)
    for definition in deferred:
        await conn.execute(text(definition))
    if postgres:
        await tallies.recount(conn)
    await _save_sequences(conn, used, existing_keys)
    return done, members, payments, reviews
