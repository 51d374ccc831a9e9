"""`duplicateCandidates` reads a table the database keeps (migration 0025): after every
kind of change it must answer exactly what grouping the members at each call answered,
and it must tell a caller nothing about households outside their scope."""

from __future__ import annotations

import base64
import importlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from domain.bounds import DUPLICATE_ARCHIVES
from domain.enums import CLAIMING_STATUSES
from gateway.config import Settings
from gateway.runtime import Runtime
from store.models import Household, Member, MemberDuplicate
from store.seed import seed
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.helpers import (
    OTHER_COUNTY_VILLAGE,
    RURAL_VILLAGE,
    URBAN_VILLAGE,
    issue_token,
    load_regions,
    nodes,
)
from tests.workflow.test_duplicates import household, person
from tests.workflow.test_import import good, write_csv

PAGE = """query($r: String, $after: String) {
  duplicateCandidates(region: $r, first: 500, after: $after) {
    totalCount edges { cursor node { archiveNos elsewhere members } } } }"""
# (role scope, region argument): national, province, county, township, a narrowed view
VIEWS = (("*", None), ("22", None), ("220183", None), ("220183100", None), ("22", "220183101"),
         ("52", None))  # fmt: skip


async def _claiming_rows(runtime: Runtime) -> list[tuple[bytes, str]]:
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Member.id_index, Member.archive_no)
            .join(Household, Household.archive_no == Member.archive_no)
            .where(
                Member.active,
                Household.status.in_(sorted(s.value for s in CLAIMING_STATUSES)),
            )
        )
        return [(bytes(i), a) for i, a in rows]


def _computed(rows: list[tuple[bytes, str]], scope: str, region: str | None) -> list[Any]:
    """The answer as grouping the members at each call gave it (the code this table
    replaced): people held by two claiming households or more, one in view; in order
    of the first archive in view, then of the blind index."""
    held: dict[bytes, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for index, archive_no in rows:
        held[index][archive_no] += 1
    prefix = "" if scope == "*" else scope

    def seen(archive_no: str) -> bool:
        return archive_no.startswith(prefix) and archive_no.startswith(region or "")

    found = []
    for index, archives in held.items():
        inside = sorted(a for a in archives if seen(a))
        if len(archives) > 1 and inside:
            node = {
                "archiveNos": inside[:DUPLICATE_ARCHIVES],
                "elsewhere": len(archives) - len(inside),
                "members": sum(archives.values()),
            }
            found.append(((inside[0], index), node))
    return [node for _key, node in sorted(found, key=lambda f: f[0])]


async def _assert_maintained(api: Api, runtime: Runtime) -> int:
    """The table holds exactly the rows of the people held twice, and every view's
    answer through the API is the computed one; returns how many groups exist."""
    rows = await _claiming_rows(runtime)
    per_person: dict[bytes, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for index, archive_no in rows:
        per_person[index][archive_no] += 1
    expected = {
        (index, archive_no, n)
        for index, archives in per_person.items()
        if len(archives) > 1
        for archive_no, n in archives.items()
    }
    async with runtime.sessions() as session:
        kept = {
            (bytes(i), a, n)
            for i, a, n in await session.execute(
                select(
                    MemberDuplicate.id_index, MemberDuplicate.archive_no, MemberDuplicate.members
                )
            )
        }
    assert kept == expected
    for scope, region in VIEWS:
        token = await issue_token(runtime, "county_reviewer", scope)
        body = await api.gql(token, PAGE, {"r": region})
        assert "errors" not in body, body
        answer = body["data"]["duplicateCandidates"]
        computed = _computed(rows, scope, region)
        assert nodes(answer) == computed, (scope, region)
        assert answer["totalCount"] == len(computed)
    return len({index for index, _a, _n in expected})


async def test_the_kept_answer_equals_the_computed_one_after_every_change(
    api: Api, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await seed(runtime.engine, runtime.cipher, households=60, seed=3)  # no duplicates
    assert await _assert_maintained(api, runtime) == 0

    # inserts: people held twice, imported before the check (members re-pointed)
    shared, other, third = person("220183"), person("220183"), person("520121")
    a = await household(runtime, URBAN_VILLAGE, "ACTIVE", shared, other)
    b = await household(runtime, RURAL_VILLAGE, "NOTICE", shared)
    c = await household(runtime, OTHER_COUNTY_VILLAGE, "SUBMITTED", shared, third)
    d = await household(runtime, "520121100001", "ACTIVE", third)
    e = await household(runtime, RURAL_VILLAGE, "REJECTED", other)  # not claiming
    assert await _assert_maintained(api, runtime) == 2
    # and a member row inserted directly, as a bulk load writes it
    async with runtime.sessions.begin() as session:
        template = (await session.execute(select(Member).where(Member.archive_no == b))).scalar()
        assert template is not None
        await session.execute(
            insert(Member),
            [
                {
                    **{c.key: getattr(template, c.key) for c in Member.__table__.columns},
                    "id": "f" * 32,
                    "position": 5,
                    "id_index": runtime.cipher.blind_index(other),
                }
            ],
        )
    assert await _assert_maintained(api, runtime) == 3

    # status changes: out of the claiming statuses and back, and the refused one in
    for archive_no, status in ((a, "TERMINATED"), (e, "SUBMITTED"), (a, "ACTIVE"), (d, "ARCHIVED")):
        async with runtime.sessions.begin() as session:
            await session.execute(
                update(Household).where(Household.archive_no == archive_no).values(status=status)
            )
        await _assert_maintained(api, runtime)

    # member moves: to another household, out of the household (inactive), back
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Member)
            .where(Member.archive_no == c, Member.position == 1)
            .values(archive_no=a, position=7)
        )
    await _assert_maintained(api, runtime)
    async with runtime.sessions.begin() as session:
        await session.execute(update(Member).where(Member.archive_no == b).values(active=False))
    await _assert_maintained(api, runtime)
    async with runtime.sessions.begin() as session:
        await session.execute(update(Member).where(Member.archive_no == b).values(active=True))
        # and one person's index changes (a re-key writes the index anew)
        await session.execute(
            update(Member)
            .where(Member.archive_no == d)
            .values(id_index=runtime.cipher.blind_index(shared))
        )
    await _assert_maintained(api, runtime)

    # an import: a refused household's person comes in again through the CLI (a
    # refused household claims nobody), then the refused one is reopened
    refused = await household(runtime, URBAN_VILLAGE, "REJECTED", person("220183"))
    rows = good("JL-DUP-1")
    async with runtime.sessions() as session:
        held = (
            await session.execute(select(Member).where(Member.archive_no == refused))
        ).scalar_one()
        rows[0]["身份证号"] = runtime.cipher.decrypt(
            held.id_number_enc, table="members", column="id_number", row_id=held.id
        )
    register = write_csv(tmp_path / "register.csv", rows)
    run = await adibao(settings, "import", "archives", str(register))
    assert run.returncode == 0, run.stderr
    await _assert_maintained(api, runtime)
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Household).where(Household.archive_no == refused).values(status="SUBMITTED")
        )
    before = await _assert_maintained(api, runtime)

    # a seed into the archive that holds them changes none of it
    await seed(runtime.engine, runtime.cipher, households=40, seed=4)
    assert await _assert_maintained(api, runtime) == before


async def test_nothing_outside_the_scope_shows_in_the_answer(api: Api, runtime: Runtime) -> None:
    """What happens only outside a caller's scope leaves their answer byte for byte as
    it was, whatever region or cursor they send: the table is no oracle."""
    await load_regions(runtime)
    shared = person("220183")
    inside = [
        await household(runtime, URBAN_VILLAGE, "ACTIVE", shared),
        await household(runtime, RURAL_VILLAGE, "ACTIVE", shared),
    ]
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    probes: list[dict[str, Any]] = [
        {"r": None},
        {"r": "220183"},
        {"r": "52"},  # a region outside the scope
        {"r": "520121"},
        # cursors placed at an archive outside the scope, before and after its own
        {"r": None, "after": base64.urlsafe_b64encode(b"d:110101001001-2020-000001:0").decode()},
        {"r": None, "after": base64.urlsafe_b64encode(b"d:520121100001-2020-000001:0").decode()},
    ]

    async def answers() -> list[Any]:
        found = []
        for variables in probes:
            found.append(await api.gql(reviewer, PAGE, {"after": None, **variables}))
        return found

    before = await answers()
    assert nodes(before[0]["data"]["duplicateCandidates"]) == [
        {"archiveNos": sorted(inside), "elsewhere": 0, "members": 2}
    ]
    # outside the scope: a group of two households, one person held twice more
    elsewhere, again = person("520121"), person("520121")
    await household(runtime, "520121100001", "ACTIVE", elsewhere, again)
    await household(runtime, OTHER_COUNTY_VILLAGE, "SUBMITTED", elsewhere)
    await household(runtime, OTHER_COUNTY_VILLAGE, "NOTICE", again)
    after = await answers()
    assert after == before
    for body in after[2:4]:  # a region outside the scope reads nothing at all
        assert body["data"]["duplicateCandidates"] == {"totalCount": 0, "edges": []}
    # the same reads by a caller whose scope holds them do see them: the probe is real
    guizhou = await issue_token(runtime, "county_reviewer", "520121")
    seen = (await api.gql(guizhou, PAGE, {"r": None, "after": None}))["data"]
    assert seen["duplicateCandidates"]["totalCount"] == 2


def test_the_triggers_know_the_claiming_statuses() -> None:
    migration = importlib.import_module("store.migrations.versions.0025_member_duplicates")
    assert sorted(migration.CLAIMING) == sorted(s.value for s in CLAIMING_STATUSES)
