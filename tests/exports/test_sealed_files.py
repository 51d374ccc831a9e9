"""Export files sealed in pieces (issue 20): written, hashed and sealed a piece at a
time, and served only once every piece opened under its own tag and place. A changed
byte, a piece dropped, reordered or taken from another file refuses the download whole
(FILE_DAMAGED, audited), on both backends; a file of the single-blob format written
before pieces is still served."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

import store.exports
from gateway.runtime import Runtime
from store.exports import SEALED, ExportDamaged, fetch_export, open_pieces, save_export
from store.models import Export, ExportChunk, new_id
from store.types import utcnow
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.exports.helpers import fetch, request, ticket
from tests.exports.test_payment_roll import finance, paid_batch  # noqa: F401 (fixture)

PIECE = 1024  # bytes per piece in these tests: a roll of a few lines is several pieces


async def _pieces(runtime: Runtime, export_id: str) -> list[bytes]:
    async with runtime.sessions() as session:
        rows = await session.scalars(
            select(ExportChunk.content_enc)
            .where(ExportChunk.export_id == export_id)
            .order_by(ExportChunk.seq)
        )
        return list(rows)


async def _set(runtime: Runtime, export_id: str, seq: int, blob: bytes) -> None:
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(ExportChunk)
            .where(ExportChunk.export_id == export_id, ExportChunk.seq == seq)
            .values(content_enc=blob)
        )


async def _roll(api: Api, runtime: Runtime, token: str, batch_id: str) -> dict[str, str]:
    made = ticket(await request(api, token, "PAYMENT_ROLL", {"batchId": batch_id}))
    ok = await fetch(api, token, made["id"])
    assert ok.status_code == 200 and hashlib.sha256(ok.content).hexdigest() == made["sha256"]
    return made


async def test_a_damaged_file_is_refused_whole_and_audited(
    api: Api,
    runtime: Runtime,
    finance: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store.exports, "FILE_CHUNK", PIECE)
    batch_id, _ = await paid_batch(api, runtime, finance)
    first, second = [await _roll(api, runtime, finance, batch_id) for _ in range(2)]
    pieces = await _pieces(runtime, first["id"])
    assert len(pieces) >= 4, "the roll spans several pieces"
    others = await _pieces(runtime, second["id"])

    async def refused(why: str) -> None:
        response = await fetch(api, finance, first["id"])
        assert response.status_code == 500, (why, response.status_code)
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "FILE_DAMAGED", why
        assert b"PK" not in response.content[:2]  # no byte of the workbook
        [entry] = [e for e in await entries(runtime) if e.get("error_codes")][-1:]
        assert entry["error_codes"] == ["FILE_DAMAGED"] and entry["outcome"] == "failed"
        assert entry["export"]["sha256"] == first["sha256"], why

    # one byte changed in the middle of a piece
    flipped = bytearray(pieces[1])
    flipped[len(flipped) // 2] ^= 0x01
    await _set(runtime, first["id"], 1, bytes(flipped))
    await refused("a byte changed")
    await _set(runtime, first["id"], 1, pieces[1])

    # two pieces swapped within the file
    await _set(runtime, first["id"], 1, pieces[2])
    await _set(runtime, first["id"], 2, pieces[1])
    await refused("pieces reordered")
    await _set(runtime, first["id"], 1, pieces[1])
    await _set(runtime, first["id"], 2, pieces[2])

    # the same place's piece of another export of the same roll (same plaintext length)
    await _set(runtime, first["id"], 1, others[1])
    await refused("a piece from another file")
    await _set(runtime, first["id"], 1, pieces[1])

    # a piece cut short
    await _set(runtime, first["id"], 0, pieces[0][:-7])
    await refused("a piece truncated")
    await _set(runtime, first["id"], 0, pieces[0])

    # the last piece dropped; then also the register's count lowered to match, so the
    # new last piece (sealed as not last) must give the truncation away on its own
    last = len(pieces) - 1
    async with runtime.sessions.begin() as session:
        await session.execute(
            delete(ExportChunk).where(ExportChunk.export_id == first["id"], ExportChunk.seq == last)
        )
    await refused("the last piece missing")
    async with runtime.sessions.begin() as session:
        await session.execute(update(Export).where(Export.id == first["id"]).values(chunks=last))
    await refused("the file truncated at a piece boundary")

    # the untouched export still comes whole
    ok = await fetch(api, finance, second["id"])
    assert ok.status_code == 200 and hashlib.sha256(ok.content).hexdigest() == second["sha256"]
    assert int(ok.headers["content-length"]) == len(ok.content)


async def test_a_file_of_the_single_blob_format_is_still_served(
    api: Api,
    runtime: Runtime,
    finance: str,  # noqa: F811
) -> None:
    """Files written under migration 0022 alone are one AES-GCM blob on the row."""
    token = finance
    data = os.urandom(3000)
    export_id = new_id()
    table, column = SEALED
    async with runtime.sessions.begin() as session:
        session.add(
            Export(
                id=export_id,
                kind="PAYMENT_ROLL",
                format="CSV",
                params={"batchId": "0" * 32, "format": "CSV"},
                principal="fin-dehui",
                role="finance_officer",
                scope="220183",
                created_at=utcnow(),
                row_count=1,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content_enc=runtime.cipher.seal(data, table=table, column=column, row_id=export_id),
                chunks=None,
            )
        )
    response = await fetch(api, token, export_id)
    assert response.status_code == 200 and response.content == data
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Export)
            .where(Export.id == export_id)
            .values(
                content_enc=runtime.cipher.seal(
                    b"x" + data[1:], table=table, column=column, row_id=export_id
                )
            )
        )
    damaged = await fetch(api, token, export_id)
    assert damaged.json()["errors"][0]["extensions"]["code"] == "FILE_DAMAGED"


async def test_a_large_file_round_trips_a_piece_at_a_time(runtime: Runtime, tmp_path: Path) -> None:
    """Several megabytes through the real piece size: what comes back is the file,
    and no stored piece is larger than a piece and its tag."""
    size = 3 * store.exports.FILE_CHUNK + 12345
    path = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(size // 65536 + 1):
            block = os.urandom(65536)
            out.write(block)
        out.truncate(size)
    with path.open("rb") as stream:
        while block := stream.read(1 << 16):
            digest.update(block)
    row = Export(
        id=new_id(),
        kind="PUBLIC_LIST",
        format="CSV",
        params={},
        principal="p",
        role="case_staff",
        scope="220183",
        created_at=utcnow(),
        row_count=0,
        size=size,
        sha256=digest.hexdigest(),
    )
    async with runtime.sessions.begin() as session:
        await save_export(session, runtime.cipher, row, path)
    assert row.chunks == 4
    stored = await _pieces(runtime, row.id)
    assert len(stored) == 4
    assert max(len(p) for p in stored) <= store.exports.FILE_CHUNK + 64
    spool = await fetch_export(runtime.sessions, runtime.cipher, row)
    back = hashlib.sha256()
    total = 0
    for piece in open_pieces(spool, runtime.cipher, row):
        assert len(piece) <= store.exports.FILE_CHUNK
        back.update(piece)
        total += len(piece)
    assert (total, back.hexdigest()) == (size, row.sha256)


async def test_a_piece_changed_after_the_check_is_not_released(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serving opens each piece again: a piece damaged between the check and the send
    (here in the spool itself) stops the file at that piece, and nothing of it leaves."""
    monkeypatch.setattr(store.exports, "FILE_CHUNK", 4096)
    data = os.urandom(3 * 4096 + 100)
    path = tmp_path / "roll.bin"
    path.write_bytes(data)
    row = Export(
        id=new_id(),
        kind="PAYMENT_ROLL",
        format="CSV",
        params={},
        principal="p",
        role="finance_officer",
        scope="220183",
        created_at=utcnow(),
        row_count=0,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    async with runtime.sessions.begin() as session:
        await save_export(session, runtime.cipher, row, path)
    spool = await fetch_export(runtime.sessions, runtime.cipher, row)
    first = int.from_bytes(spool.read(4), "big")
    spool.seek(4 + first + 4 + 40)  # a byte inside the second piece's ciphertext
    byte = spool.read(1)
    spool.seek(-1, 1)
    spool.write(bytes([byte[0] ^ 0x80]))
    spool.seek(0)
    pieces = open_pieces(spool, runtime.cipher, row)
    assert next(pieces) == data[:4096]  # the first piece, verified
    with pytest.raises(ExportDamaged, match="piece 2 of 4"):
        next(pieces)  # nothing of the second
