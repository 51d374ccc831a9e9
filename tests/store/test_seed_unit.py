"""The synthetic data generator, on a throwaway SQLite file and a throwaway PostgreSQL database.

Each test makes its own fresh databases (a determinism check needs two), builds
the schema through the real migrations, and drops them afterwards.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import store.seed
from domain.archive import parse_archive_no
from domain.benefit import monthly_benefit, next_month_start
from domain.categories import age_on
from domain.enums import CLAIMING_STATUSES, Area, HouseholdStatus, Relation, Sex
from domain.idnumber import parse_id_number
from domain.region import county_of
from domain.workflow import (
    REVIEW_MONTHS,
    ReviewClass,
    Situation,
    Step,
    add_months,
    next_status,
    notice_end,
)
from policies.engine import default_rules
from store.crypto import Cipher, KeyRing
from store.db import create_engine
from store.migrate import upgrade
from store.models import (
    ArchiveSequence,
    BenefitHistory,
    Household,
    HouseholdTally,
    IdClaim,
    Member,
    Objection,
    Payment,
    PaymentTally,
    Region,
    Review,
    Standard,
)
from store.regions_data import REGIONS, STANDARDS, VILLAGES, area_of_village
from store.regions_national import (
    counties_in_fill_order,
    county_subtree,
    national_head,
    national_plan,
)
from store.seed import SeedReport, seed
from store.tallies import counted_households, counted_payments

PG_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TODAY = date(2026, 11, 27)

MakeDb = Callable[[], Awaitable[AsyncEngine]]


async def _pg_admin(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def make_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeDb]:
    """A factory of fresh, migrated, empty databases on the parametrised backend."""
    backend: str = request.param
    engines: list[AsyncEngine] = []
    databases: list[str] = []
    if backend == "postgresql":
        try:
            await _pg_admin("SELECT 1")
        except Exception:
            if os.environ.get("DIBAO_REQUIRE_POSTGRES") == "1":
                pytest.fail("PostgreSQL is required (DIBAO_REQUIRE_POSTGRES=1) but unreachable")
            pytest.skip("PostgreSQL is not reachable")

    async def make() -> AsyncEngine:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / f'seed{len(engines)}.db'}"
        else:
            name = f"dibao_seed_{uuid.uuid4().hex[:12]}"
            await _pg_admin(f'CREATE DATABASE "{name}"')
            databases.append(name)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        engine = create_engine(url, pool=False)
        engines.append(engine)
        await upgrade(engine, shipped_rules=default_rules())
        return engine

    yield make
    for engine in engines:
        await engine.dispose()
    for name in databases:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cipher() -> Cipher:
    return Cipher(KeyRing.generate())


async def _count(engine: AsyncEngine, model: Any) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(select(func.count()).select_from(model))
    assert isinstance(value, int)
    return value


async def _snapshot(engine: AsyncEngine, cipher: Cipher) -> list[tuple[Any, ...]]:
    """What must be reproducible: archive numbers, statuses, names, ID numbers, incomes."""
    async with engine.connect() as conn:
        statuses = dict((await conn.execute(select(Household.archive_no, Household.status))).all())
        members = await conn.execute(
            select(
                Member.archive_no,
                Member.position,
                Member.id,
                Member.name_enc,
                Member.id_number_enc,
                Member.monthly_income,
            ).order_by(Member.archive_no, Member.position)
        )
        rows: list[tuple[Any, ...]] = []
        for archive_no, position, member_id, name_enc, id_enc, income in members:
            rows.append(
                (
                    archive_no,
                    statuses[archive_no],
                    position,
                    cipher.decrypt(name_enc, table="members", column="name", row_id=member_id),
                    cipher.decrypt(id_enc, table="members", column="id_number", row_id=member_id),
                    income,
                )
            )
    return rows


# --------------------------------------------------------------------------- region data


def test_region_tree_is_consistent() -> None:
    codes = {r.code: r for r in REGIONS}
    assert len(codes) == len(REGIONS)
    lengths = {"PROVINCE": 2, "CITY": 4, "COUNTY": 6, "TOWNSHIP": 9, "VILLAGE": 12}
    for row in REGIONS:
        assert row.code.isdigit()
        assert len(row.code) == lengths[row.level]
        if row.parent_code is None:
            assert row.level == "PROVINCE"
        else:
            assert row.code.startswith(row.parent_code)
            assert row.parent_code in codes
    assert codes["220183"].name == "德惠市"
    assert codes["5203"].name == "遵义市"
    assert codes["520323"].parent_code == "5203"
    counties = [r.code for r in REGIONS if r.level == "COUNTY"]
    for county in counties:
        townships = [r for r in REGIONS if r.parent_code == county]
        assert len(townships) == 3
        for township in townships:
            villages = [r.code for r in REGIONS if r.parent_code == township.code]
            assert len(villages) == 4
            assert {area_of_village(v) for v in villages} == set(Area)
        for area in Area:
            amount = STANDARDS[(county, area)]
            assert amount == amount.quantize(Decimal("0.01"))
            low, high = (650, 900) if area is Area.URBAN else (450, 700)
            assert low <= amount <= high
    assert len(VILLAGES) == 4 * 3 * len(counties)
    assert area_of_village("220102001001") is Area.URBAN
    assert area_of_village("220102001199") is Area.URBAN
    assert area_of_village("220102001200") is Area.RURAL


# --------------------------------------------------------------------------- the seed


async def test_seed_inserts_consistent_realistic_data(make_db: MakeDb, cipher: Cipher) -> None:
    engine = await make_db()
    seen: list[int] = []
    report = await seed(engine, cipher, households=80, seed=3, today=TODAY, progress=seen.append)

    assert isinstance(report, SeedReport)
    assert report.households == 80
    assert seen == [80]
    assert report.seconds > 0
    assert await _count(engine, Household) == 80
    assert await _count(engine, Member) == report.members
    assert await _count(engine, Payment) == report.payments
    assert await _count(engine, Review) == report.reviews
    assert await _count(engine, Region) == len(REGIONS)
    assert await _count(engine, Standard) == len(STANDARDS)
    assert 80 <= report.members <= 6 * 80

    async with engine.connect() as conn:
        households = {
            h.archive_no: h for h in (await conn.execute(select(Household.__table__))).all()
        }
        members = (await conn.execute(select(Member.__table__))).all()
        claims = (await conn.execute(select(IdClaim.__table__))).all()
        payments = (await conn.execute(select(Payment.__table__))).all()
        reviews = (await conn.execute(select(Review.__table__))).all()
        sequences = (await conn.execute(select(ArchiveSequence.__table__))).all()

    assert {h.status for h in households.values()} == set(HouseholdStatus)
    assert {h.area for h in households.values()} == set(Area)
    counties = {county_of(h.village_code) for h in households.values()}
    assert len(counties) >= 5

    standards = {(c, a.value): amount for (c, a), amount in STANDARDS.items()}
    for h in households.values():
        village, year, _ = parse_archive_no(h.archive_no)
        assert village == h.village_code
        assert h.area == area_of_village(h.village_code).value
        assert h.applied_at.tzinfo is not None
        assert h.applied_at.year == year
        assert h.applied_at.date() <= TODAY
        assert h.applied_at <= h.status_changed_at
        if h.status in {"ACTIVE", "SUSPENDED", "APPROVED", "GRADUAL_EXIT"}:
            assert h.monthly_benefit is not None
            assert h.monthly_benefit > 0
            assert h.bank_account_enc is not None
        else:
            assert h.monthly_benefit is None
        if h.bank_account_enc is not None:
            account = cipher.decrypt(
                h.bank_account_enc, table="households", column="bank_account", row_id=h.archive_no
            )
            assert account.isdigit()
            assert 16 <= len(account) <= 19

    # members: valid ID numbers matching county, birth date and sex; ages fit relations
    by_household: dict[str, list[Any]] = {}
    id_numbers: set[str] = set()
    for m in members:
        h = households[m.archive_no]
        number = cipher.decrypt(m.id_number_enc, table="members", column="id_number", row_id=m.id)
        info = parse_id_number(number, today=TODAY)
        assert info.region_code == county_of(h.village_code)
        assert info.birth_date == m.birth_date
        assert info.sex == Sex(m.sex)
        assert cipher.blind_index(number) == m.id_index
        id_numbers.add(number)
        name = cipher.decrypt(m.name_enc, table="members", column="name", row_id=m.id)
        assert 2 <= len(name) <= 4
        if m.phone_enc is not None:
            phone = cipher.decrypt(m.phone_enc, table="members", column="phone", row_id=m.id)
            assert len(phone) == 11
            assert phone[:2] in {"13", "15", "18"}
            assert age_on(m.birth_date, TODAY) >= 18
        assert isinstance(m.monthly_income, Decimal)
        assert m.monthly_income == m.monthly_income.quantize(Decimal("0.01"))
        assert m.monthly_income >= 0
        assert m.disability_grade in {None, 1, 2, 3, 4}
        by_household.setdefault(m.archive_no, []).append(m)
    assert len(id_numbers) == len(members)
    assert set(by_household) == set(households)

    for archive_no, people in by_household.items():
        people.sort(key=lambda m: m.position)
        assert [m.position for m in people] == list(range(len(people)))
        assert 1 <= len(people) <= 6
        head = people[0]
        assert head.relation == Relation.HEAD
        assert sum(m.relation == Relation.HEAD for m in people) == 1
        head_age = age_on(head.birth_date, TODAY)
        assert head_age >= 18
        for m in people[1:]:
            age = age_on(m.birth_date, TODAY)
            if m.relation == Relation.CHILD:
                assert age <= head_age - 18
            elif m.relation == Relation.PARENT:
                assert age >= head_age + 18
            elif m.relation == Relation.GRANDCHILD:
                assert age <= head_age - 36
        h = households[archive_no]
        if h.monthly_benefit is not None and h.status != "GRADUAL_EXIT":  # income rose since
            standard = standards[(county_of(h.village_code), h.area)]
            incomes = [m.monthly_income for m in people]
            assert h.monthly_benefit == monthly_benefit(standard, incomes)

    # id_claims cover exactly the members of claiming households
    claiming = {a for a, h in households.items() if h.status in CLAIMING_STATUSES}
    expected_claims = {
        (m.id, m.archive_no, m.id_index) for m in members if m.archive_no in claiming
    }
    assert {(c.member_id, c.archive_no, c.id_index) for c in claims} == expected_claims
    assert len(claims) == len(expected_claims)

    # payments: the two months before TODAY's month, for ACTIVE households only, each
    # from the month after its approval (下月起)
    active = {a for a, h in households.items() if h.status == "ACTIVE"}
    assert {p.archive_no for p in payments} <= active
    due = {
        (a, f"{month:%Y-%m}")
        for a in active
        for month in (date(2026, 9, 1), date(2026, 10, 1))
        if month >= next_month_start(households[a].decided_on)
    }
    assert {(p.archive_no, p.period) for p in payments} == due
    assert len(payments) == len(due)
    for p in payments:
        h = households[p.archive_no]
        assert p.amount == h.monthly_benefit
        assert p.county_code == county_of(h.village_code)
        assert (p.period, p.status) in {("2026-09", "DISBURSED"), ("2026-10", "PENDING")}
        assert h.bank_account_enc is not None
        paid_to = cipher.decrypt(
            p.bank_account_enc, table="payments", column="bank_account", row_id=p.id
        )
        assert paid_to == cipher.decrypt(
            h.bank_account_enc, table="households", column="bank_account", row_id=h.archive_no
        )

    # review chain: one row per step passed, in order, ending at the current status
    chains: dict[str, list[Any]] = {}
    for r in reviews:
        chains.setdefault(r.archive_no, []).append(r)
    for archive_no, h in households.items():
        chain = sorted(chains.get(archive_no, []), key=lambda r: r.created_at)
        if h.status == "DRAFT":
            assert chain == []
            continue
        assert chain[0].step == "SUBMIT"
        assert chain[-1].to_status == h.status
        for before, after in itertools.pairwise(chain):
            assert after.from_status == before.to_status
        assert all(r.actor and r.actor_role and r.reason for r in chain)
        moves = [r for r in chain if r.from_status != r.to_status]
        assert moves[-1].created_at == h.status_changed_at

    # archive sequences record the highest number handed out
    highest: dict[tuple[str, int], int] = {}
    for archive_no in households:
        village, year, seq = parse_archive_no(archive_no)
        highest[(village, year)] = max(highest.get((village, year), 0), seq)
    assert {(s.village_code, s.year): s.last_value for s in sequences} == highest


async def test_money_goes_through_the_column_type(make_db: MakeDb, cipher: Cipher) -> None:
    engine = await make_db()
    await seed(engine, cipher, households=20, seed=1, today=TODAY)
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            kinds = set(
                (await conn.execute(text("SELECT DISTINCT typeof(monthly_income) FROM members")))
                .scalars()
                .all()
            )
            assert kinds == {"integer"}  # cents, as store.types.Money writes them
        else:
            kind = await conn.scalar(
                text("SELECT pg_typeof(monthly_income)::text FROM members LIMIT 1")
            )
            assert kind == "numeric"


async def test_same_seed_same_data_other_seed_other_data(
    make_db: MakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, third = await make_db(), await make_db(), await make_db()
    cipher_a, cipher_b = Cipher(KeyRing.generate()), Cipher(KeyRing.generate())
    await seed(first, cipher_a, households=60, seed=11, today=TODAY)
    # other keys and other chunking (the pipeline) must not change the data
    monkeypatch.setattr(store.seed, "CHUNK_SIZE", 25)
    seen: list[int] = []
    await seed(second, cipher_b, households=60, seed=11, today=TODAY, progress=seen.append)
    assert seen == [25, 50, 60]
    await seed(third, cipher_a, households=60, seed=12, today=TODAY)
    a, b, c = (
        await _snapshot(first, cipher_a),
        await _snapshot(second, cipher_b),
        await _snapshot(third, cipher_a),
    )
    assert a == b
    assert a != c
    assert {row[4] for row in a} != {row[4] for row in c}


async def test_seeding_twice_into_one_database_never_collides(
    make_db: MakeDb, cipher: Cipher
) -> None:
    engine = await make_db()
    first = await seed(engine, cipher, households=70, seed=5, today=TODAY)
    second = await seed(engine, cipher, households=70, seed=5, today=TODAY)
    assert await _count(engine, Household) == 140
    assert await _count(engine, Member) == first.members + second.members
    assert await _count(engine, Region) == len(REGIONS)
    assert await _count(engine, Standard) == len(STANDARDS)
    async with engine.connect() as conn:
        archive_nos = (await conn.execute(select(Household.archive_no))).scalars().all()
        indexes = (await conn.execute(select(Member.id_index))).scalars().all()
        claims = await conn.scalar(select(func.count()).select_from(IdClaim))
        claiming_members = await conn.scalar(
            select(func.count())
            .select_from(Member)
            .join(Household, Household.archive_no == Member.archive_no)
            .where(Household.status.in_([s.value for s in CLAIMING_STATUSES]))
        )
        last = {
            (v, y): n
            for v, y, n in (
                await conn.execute(
                    select(
                        ArchiveSequence.village_code,
                        ArchiveSequence.year,
                        ArchiveSequence.last_value,
                    )
                )
            )
        }
    assert len(set(archive_nos)) == 140
    assert len(set(indexes)) == len(indexes)  # nobody appears twice, so no claim can clash
    assert claims == claiming_members
    highest: dict[tuple[str, int], int] = {}
    for archive_no in archive_nos:
        village, year, seq = parse_archive_no(archive_no)
        highest[(village, year)] = max(highest.get((village, year), 0), seq)
    assert last == highest


async def test_zero_households_still_installs_reference_data(
    make_db: MakeDb, cipher: Cipher
) -> None:
    engine = await make_db()
    report = await seed(engine, cipher, households=0, today=TODAY)
    assert (report.households, report.members, report.payments, report.reviews) == (0, 0, 0, 0)
    assert await _count(engine, Region) == len(REGIONS)
    assert await _count(engine, Standard) == len(STANDARDS)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Standard.__table__))).all()
    for row in rows:
        assert row.effective_from == date(2026, 1, 1)
        assert row.created_by == "seed"
        assert row.monthly_amount == STANDARDS[(row.county_code, Area(row.area))]


async def test_existing_archive_sequence_is_continued(make_db: MakeDb, cipher: Cipher) -> None:
    engine = await make_db()
    village = VILLAGES[0]
    async with engine.begin() as conn:
        await conn.execute(
            insert(ArchiveSequence),
            [
                {"village_code": v, "year": y, "last_value": 500}
                for v in VILLAGES
                for y in range(2015, 2027)
            ],
        )
    await seed(engine, cipher, households=40, seed=2, today=TODAY)
    async with engine.connect() as conn:
        numbers = [
            parse_archive_no(a)[2]
            for a in (await conn.execute(select(Household.archive_no))).scalars()
        ]
        last = await conn.scalar(
            select(func.max(ArchiveSequence.last_value)).where(
                ArchiveSequence.village_code == village
            )
        )
    assert min(numbers) == 501
    assert last is not None
    assert last >= 500


async def test_every_seeded_household_replays_through_the_state_machine(
    make_db: MakeDb, cipher: Cipher
) -> None:
    """The seed writes only histories the service could have written: each step, on
    its day, is one the state machine allows from where the household stood, with
    the service's step names; seeded benefits have their history, and periodic
    checks fall within the household's interval."""
    engine = await make_db()
    await seed(engine, cipher, households=120, seed=5, today=TODAY)
    async with engine.connect() as conn:
        households = (await conn.execute(select(Household.__table__))).all()
        reviews = (await conn.execute(select(Review.__table__))).all()
        benefits = (await conn.execute(select(BenefitHistory.__table__))).all()
        objections = (await conn.execute(select(Objection.__table__))).all()
    chains: dict[str, list[Any]] = {}
    for r in reviews:
        chains.setdefault(r.archive_no, []).append(r)
    granted = {b.archive_no: b for b in benefits}
    beijing = timezone(timedelta(hours=8))
    for h in households:
        status, since, notice_ends = HouseholdStatus.DRAFT, None, None
        for r in sorted(chains.get(h.archive_no, []), key=lambda r: r.created_at):
            day = r.created_at.astimezone(beijing).date()
            step = Step(r.step)
            assert (r.from_status or "DRAFT") == status.value, (h.archive_no, r.step)
            target = next_status(
                status,
                step,
                reason=r.reason,
                situation=Situation(today=day, notice_ends_on=notice_ends, status_since=since),
            )
            assert r.to_status == target.value, (h.archive_no, r.step)
            if step is Step.PUBLISH_NOTICE:
                notice_ends = notice_end(day)
            if target is not status:
                since = day
            status = target
        assert status.value == h.status, h.archive_no
        if h.monthly_benefit is not None:
            assert granted[h.archive_no].amount == h.monthly_benefit
            assert granted[h.archive_no].effective_from == next_month_start(h.decided_on)
        if h.next_review_on is not None:
            months = REVIEW_MONTHS[ReviewClass(h.review_class)]
            assert h.next_review_on <= add_months(TODAY, months), h.archive_no
    statuses = {h.status for h in households}
    assert {"GRADUAL_EXIT", "WITHDRAWN", "AWAITING_CORRECTION"} <= statuses
    assert any(o.status == "OPEN" for o in objections)
    assert any(h.next_review_on is not None and h.next_review_on <= TODAY for h in households)


# -------------------------------------------------------------------- the national tree


def test_the_national_tree_has_real_proportions() -> None:
    """31 provinces with their real codes, about 2,800 counties, about 40,000
    townships, and about 20M households at national caseloads; the real city codes."""
    head = national_head()
    provinces = {r.code for r in head if r.level == "PROVINCE"}
    assert len(provinces) == 31 and {"11", "22", "44", "52", "65"} <= provinces
    cities = {r.code: r.name for r in head if r.level == "CITY"}
    assert cities["4403"] == "深圳市" and cities["5201"] == "贵阳市" and "4404" in cities
    counties = list(counties_in_fill_order())
    assert 2_700 <= len(counties) <= 2_900
    assert len({c.code for c in counties}) == len(counties)
    assert all(c.code[:4] in cities for c in counties)
    townships = [t for c in counties[:300] for t in county_subtree(c)[1]]
    per_county = len(townships) / 300
    assert 11 <= per_county <= 16  # about 40,000 over 2,844 nationally
    caseload = sum(t.households for t in townships) / len(townships)
    assert 350 <= caseload <= 650  # about 20M households over about 40,000 townships
    assert all(80 <= t.households <= 4_000 for t in townships)


def test_a_million_households_span_provinces_counties_and_townships() -> None:
    plan = national_plan(1_000_000)
    assert sum(n for _villages, n in plan.townships) == 1_000_000
    villages = [v for v, _n in plan.townships]
    assert len({v[0][:2] for v in villages}) >= 10
    assert len({v[0][:6] for v in villages}) >= 100
    assert len(villages) >= 1_500
    assert national_plan(1_000_000).townships == plan.townships  # deterministic


async def test_a_national_seed_places_households_at_township_caseloads(
    make_db: MakeDb, cipher: Cipher
) -> None:
    engine = await make_db()
    report = await seed(engine, cipher, households=1100, seed=4, today=TODAY, regions="national")
    assert report.households == 1100
    plan = national_plan(1100)  # a rural township filled, a street begun
    allowed = {township[0][:9]: n for township, n in plan.townships}
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Household.village_code, Household.area))).all()
        codes = set((await conn.execute(select(Region.code))).scalars())
        standards = {
            (c, a) for c, a in await conn.execute(select(Standard.county_code, Standard.area))
        }
    per_township: dict[str, int] = {}
    for village, area in rows:
        assert village in codes and area == area_of_village(village).value
        per_township[village[:9]] = per_township.get(village[:9], 0) + 1
        assert (village[:6], area) in standards
    assert per_township == allowed  # every township filled to its caseload, in plan order
    assert {area for _v, area in rows} == {"URBAN", "RURAL"}
    assert not set(VILLAGES) & codes  # the demo tree stays out of a national seed


async def test_a_national_seed_is_the_same_archive_whatever_the_processes(
    make_db: MakeDb, cipher: Cipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A national seed draws its townships in worker processes, each township from a
    PRNG of its own: the number of processes and the chunking change nothing."""
    engines = [await make_db(), await make_db(), await make_db()]
    monkeypatch.setattr(store.seed, "CHUNK_SIZE", 300)  # two townships: two chunks
    await seed(engines[0], cipher, households=1100, seed=6, today=TODAY, regions="national",
               workers=2)  # fmt: skip
    await seed(engines[1], cipher, households=1100, seed=6, today=TODAY, regions="national",
               workers=1)  # fmt: skip
    monkeypatch.setattr(store.seed, "CHUNK_SIZE", 5_000)  # one chunk, in this process
    await seed(engines[2], cipher, households=1100, seed=6, today=TODAY, regions="national")
    snapshots = [await _snapshot(engine, cipher) for engine in engines]
    assert len(snapshots[0]) > 1100  # members
    assert snapshots[0] == snapshots[1] == snapshots[2]
    sequences = []
    for engine in engines:
        async with engine.connect() as conn:
            sequences.append(set((await conn.execute(select(ArchiveSequence.__table__))).all()))
    assert sequences[0] == sequences[1] == sequences[2]
    assert len({row[4] for row in snapshots[0]}) == len(snapshots[0])  # ID numbers unique


async def test_indexes_built_after_the_load_are_the_same_indexes(
    make_db: MakeDb, cipher: Cipher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first seed on PostgreSQL drops the keys, the indexes and the foreign keys and
    builds them after the load: the schema it leaves is the migrated one, index for
    index and constraint for constraint (each key checked over the loaded rows)."""
    engine = await make_db()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite seeds through executemany, its indexes in place")
    indexes = text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    constraints = text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated"
        " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
    )
    async with engine.connect() as conn:
        before = set((await conn.execute(indexes)).all())
        keys_before = set((await conn.execute(constraints)).all())
    monkeypatch.setattr(store.seed, "_DEFER_INDEXES_FROM", 1)
    dropped: list[str] = []
    drop = store.seed._drop_for_load

    async def spy(conn: Any) -> list[str]:
        dropped.extend(await drop(conn))
        return dropped

    monkeypatch.setattr(store.seed, "_drop_for_load", spy)
    await seed(engine, cipher, households=30, seed=2, today=TODAY, regions="national")
    assert any("ix_members_scope_categories" in d for d in dropped)
    assert any("FOREIGN KEY" in d and '"members"' in d for d in dropped)
    assert any("PRIMARY KEY" in d and '"reviews"' in d for d in dropped)
    assert any("uq_households_legacy_archive_no_county" in d for d in dropped)
    # keys first (the foreign keys need them), foreign keys last
    kinds = ["PRIMARY KEY" in d or "UNIQUE (" in d for d in dropped]
    assert kinds == sorted(kinds, reverse=True)
    assert "FOREIGN KEY" in dropped[-1]
    async with engine.connect() as conn:
        assert set((await conn.execute(indexes)).all()) == before
        assert set((await conn.execute(constraints)).all()) == keys_before
        # loaded with the tallies' triggers off, counted once loaded (migration 0026)
        kept = await conn.execute(
            select(HouseholdTally.__table__).where(HouseholdTally.households > 0)
        )
        assert set(kept.all()) == set((await conn.execute(counted_households())).all())
        paid = await conn.execute(select(PaymentTally.__table__))
        assert set(paid.all()) == set((await conn.execute(counted_payments())).all())
        assert await conn.scalar(select(func.sum(HouseholdTally.households))) == 30
