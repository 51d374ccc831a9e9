"""How fast a legacy register is imported into PostgreSQL (issue 16: 100k members in ≤ 60 s).

Generates a register of `--members` rows (households of one to four, every status a
register may give), then, on a scratch database with the regions loaded, measures in
the same run: the dry run (reading and every check, no write) as the reference, and
the import itself. Prints JSON.

    python bench/import_bench.py [--members 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import random
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from domain.idnumber import make_id_number
from domain.legacy import COLUMNS
from policies.engine import default_rules
from resolvers.imports import import_archives
from store.crypto import Cipher, KeyRing
from store.db import create_engine, session_factory
from store.migrate import upgrade
from store.models import Region
from store.regions_data import REGIONS, VILLAGES, area_of_village
from store.types import utcnow

ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RELATIONS = ("户主", "配偶", "子女", "父母")
STATUSES = ("在保", "在保", "在保", "暂停", "停保")


def generate(path: Path, members: int, seed: int = 16) -> int:
    """A register of `members` rows; returns the number of households."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    villages = [v for v in VILLAGES if v.startswith("220183")]
    written = households = 0
    person = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow([c.header for c in COLUMNS])
        while written < members:
            households += 1
            size = min(rng.randint(1, 4), members - written)
            village = rng.choice(villages)
            area = "城市" if area_of_village(village).value == "URBAN" else "农村"
            status = rng.choice(STATUSES)
            for i in range(size):
                person += 1
                birth = dt.date(1940, 1, 1) + dt.timedelta(days=person // 900 % 25000)
                number = make_id_number("220183", birth, person % 900)
                out.writerow(
                    [
                        f"JD-{households:07d}", village, area, "王建国", number,
                        RELATIONS[i], str(rng.randint(0, 400)), "", "", "否", "否",
                        "13812345678", "农村信用社", "6222021234567890123", "幸福路 12 号",
                        "650.00", "2021-04-01", status, "",
                    ]
                )  # fmt: skip
            written += size
    return households


async def main(members: int) -> dict[str, object]:
    name = f"dibao_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        await upgrade(engine, shipped_rules=default_rules())
        async with engine.begin() as conn:
            await conn.execute(insert(Region), [r._asdict() for r in REGIONS])
        with tempfile.TemporaryDirectory() as folder:
            register = Path(folder) / "register.csv"
            households = generate(register, members)
            sessions = session_factory(engine)
            cipher = Cipher(KeyRing.generate())
            timings = {}
            for dry in (True, False):
                started = time.perf_counter()
                report = await import_archives(
                    register, name=register.name, dry_run=dry, actor="bench",
                    actor_role="sysadmin", scope="", sessions=sessions, cipher=cipher,
                    now=utcnow(),
                )  # fmt: skip
                timings[dry] = time.perf_counter() - started
                assert report.refused == 0, report.errors[:5]
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
    seconds = timings[False]
    return {
        "members": members,
        "households": households,
        "seconds": round(seconds, 2),
        "rows_per_s": round(members / seconds),
        "reference_dry_run_seconds": round(timings[True], 2),
        "writing_share": round(1 - timings[True] / seconds, 2),
        "target_seconds": 60,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    print(orjson.dumps(asyncio.run(main(args.members))).decode())
