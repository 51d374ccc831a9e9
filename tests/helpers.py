"""Builders for test data that go through the same code paths as real use."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import insert, select

from domain.idnumber import make_id_number
from gateway.runtime import Runtime
from store.credentials import issue_credential
from store.models import Region, Standard
from store.regions_data import REGIONS, STANDARDS
from store.types import utcnow

CASEWORKER_TOWNSHIP = "220183100"
URBAN_VILLAGE = "220183100001"
RURAL_VILLAGE = "220183100201"
OTHER_COUNTY_VILLAGE = "520121100201"  # 开阳县, another province

_sequence = itertools.count(1)


async def load_regions(runtime: Runtime) -> None:
    async with runtime.sessions.begin() as session:
        if await session.scalar(select(Region.code).limit(1)):
            return
        await session.execute(
            insert(Region),
            [
                {"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code}
                for r in REGIONS
            ],
        )
        await session.execute(
            insert(Standard),
            [
                {
                    "id": f"std{county}{area.value}",
                    "county_code": county,
                    "area": area.value,
                    "monthly_amount": amount,
                    "effective_from": dt.date(2026, 1, 1),
                    "created_by": "test",
                }
                for (county, area), amount in STANDARDS.items()
            ],
        )


async def issue_token(
    runtime: Runtime,
    role: str,
    region: str,
    *,
    fields: list[str] | None = None,
    ttl: dt.timedelta = dt.timedelta(days=1),
    principal: str | None = None,
    department: str | None = None,
) -> str:
    async with runtime.sessions.begin() as session:
        _, token = await issue_credential(
            session,
            principal=principal or f"test-{role}",
            role=role,
            region=region,
            ttl=ttl,
            fields=fields,
            department=department,
            now=utcnow(),
        )
    return token


def id_number(
    county: str = "220183", birth: dt.date = dt.date(1970, 5, 17), sequence: int | None = None
) -> str:
    """A valid, so far unused ID number (unique within the test session)."""
    return make_id_number(
        county, birth, sequence if sequence is not None else next(_sequence) % 1000
    )


def member(
    relation: str = "HEAD",
    *,
    name: str = "王建国",
    number: str | None = None,
    birth: dt.date = dt.date(1970, 5, 17),
    income: str = "300.00",
    phone: str | None = "13812345678",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "idNumber": number or id_number(birth=birth),
        "relation": relation,
        "monthlyIncome": income,
        "phone": phone,
        **extra,
    }


def application(
    village: str = URBAN_VILLAGE, members: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "villageCode": village,
        "address": "幸福路 12 号",
        "bankAccount": "6222021234567890123",
        "bankName": "农村信用社",
        "members": members
        or [
            member("HEAD"),
            member("SPOUSE", name="李秀英", birth=dt.date(1972, 3, 9), income="0.00", phone=None),
            member(
                "CHILD",
                name="王小明",
                birth=dt.date(2012, 9, 1),
                income="0",
                phone=None,
                student=True,
            ),
        ],
        **extra,
    }


def nodes(connection: dict[str, Any]) -> list[Any]:
    """The nodes of a connection in a response, in order."""
    return [edge["node"] for edge in connection["edges"]]


def load_script(path: Path, name: str) -> ModuleType:
    """A script that is no package's module (bench/…), imported under `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
