"""Key rotation while the service runs: `dibao keys rotate` adds new data, index and
audit keys; the running service takes them up; old rows are re-encrypted and
re-indexed in batches; lookups by ID number and the one-household-per-person rule
hold throughout; the audit chain verifies across the rotation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from audit.chain import verify
from gateway.config import Settings
from gateway.runtime import Runtime
from store.crypto import Cipher, KeyRing, load_or_create_keys, rotate_key_file
from store.models import Household, IdClaim, Member, Payment
from store.rekey import rekey
from store.seed import seed
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    application,
    id_number,
    issue_token,
    load_regions,
    member,
)

SUBMIT = "mutation($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
VERIFY = "query($n: String!) { verifyRecipient(idNumber: $n) { status countyCode } }"
READ = "query($a: String!) { household(archiveNo: $a) { bankAccount members { idNumber } } }"


async def versions(runtime: Runtime) -> set[int]:
    """Key versions of every ciphertext stored."""
    found: set[int] = set()
    async with runtime.sessions() as session:
        for column in (
            Member.name_enc,
            Member.id_number_enc,
            Member.phone_enc,
            Household.bank_account_enc,
            Payment.bank_account_enc,
        ):
            for blob in (await session.scalars(select(column))).all():
                if blob is not None:
                    found.add(int.from_bytes(blob[1:3], "big"))
    return found


async def wait_for_version(runtime: Runtime, version: int) -> None:
    """The README's bound: a running server takes up rotated keys within two seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < 2.0:
        if runtime.cipher.keys.current_version == version:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the running service did not take up the rotated keys within 2 s")


async def submit(api: Api, token: str, number: str) -> dict[str, Any]:
    people = [member("HEAD", number=number), member("SPOUSE", name="李秀英", number=id_number())]
    return await api.gql(token, SUBMIT, {"input": application(members=people)})


async def test_rotation_while_serving(
    api: Api, runtime: Runtime, settings: Settings, key_file: Path
) -> None:
    await load_regions(runtime)
    await seed(runtime.engine, runtime.cipher, households=25, seed=9)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "22")
    held = id_number()
    old = (await submit(api, worker, held))["data"]["submitApplication"]["archiveNo"]
    assert await versions(runtime) == {1}

    ring = await asyncio.to_thread(rotate_key_file, key_file)
    assert ring.current_version == 2 and set(ring.data_keys) == {1, 2}
    await wait_for_version(runtime, 2)  # the service's key watcher, no restart

    # before re-encryption: old rows are found by ID number and still hold their claim
    found = await api.gql(reviewer, VERIFY, {"n": held})
    assert found["data"]["verifyRecipient"]["status"] == "SUBMITTED"
    again = await submit(api, worker, held)
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    fresh = id_number()
    new = (await submit(api, worker, fresh))["data"]["submitApplication"]["archiveNo"]
    assert await versions(runtime) == {1, 2}

    # re-encrypt in the background while requests go on
    async def traffic() -> list[dict[str, Any]]:
        answers = []
        for _ in range(10):
            answers.append(await api.gql(reviewer, VERIFY, {"n": held}))
            answers.append(await api.gql(reviewer, READ, {"a": old}))
        return answers

    report, answers = await asyncio.gather(
        rekey(runtime.engine, Cipher(load_or_create_keys(key_file))), traffic()
    )
    assert all("errors" not in a for a in answers), answers
    assert report.version == 2 and sum(report.rows_rewritten.values()) > 0
    assert await versions(runtime) == {2}

    # every member indexed under the new key; every claim has a row under it
    async with runtime.sessions() as session:
        members = (
            await session.execute(select(Member.id, Member.id_number_enc, Member.id_index))
        ).all()
        claimed = set((await session.scalars(select(IdClaim.id_index))).all())
        claimants = set((await session.scalars(select(IdClaim.member_id))).all())
    for member_id, blob, index in members:
        number = runtime.cipher.decrypt(blob, table="members", column="id_number", row_id=member_id)
        assert index == runtime.cipher.blind_index(number)
        if member_id in claimants:
            assert index in claimed
    assert (await api.gql(reviewer, VERIFY, {"n": held}))["data"]["verifyRecipient"]["status"]
    assert (await api.gql(reviewer, VERIFY, {"n": fresh}))["data"]["verifyRecipient"]["status"]
    read = await api.gql(reviewer, READ, {"a": old})
    assert read["data"]["household"]["members"][0]["idNumber"] == held
    assert (await submit(api, worker, held))["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert new

    # the audit chain: entries under both key versions, verifiable with the ring
    recorded = {e.get("key_version") for e in await entries(runtime)}
    assert {1, 2} <= recorded
    async with runtime.sessions() as session:
        assert (await verify(session, runtime.cipher.keys)).ok
        # without the old audit key, the old entries cannot be vouched for
        only_new = KeyRing(
            data_keys=ring.data_keys,
            current_version=2,
            index_keys=ring.index_keys,
            audit_keys={2: ring.audit_keys[2]},
        )
        assert not (await verify(session, only_new)).ok


async def test_keys_rotate_command(api: Api, runtime: Runtime, settings: Settings) -> None:
    await seed(runtime.engine, runtime.cipher, households=15, seed=4)
    rotated = await adibao(settings, "keys", "rotate", "--settle", "0")
    assert rotated.returncode == 0, rotated.stderr
    assert "rows rewritten" in rotated.stdout and "re-encrypting" in rotated.stderr
    assert load_or_create_keys(settings.key_file).current_version == 2
    assert (await adibao(settings, "keys", "rotate", "--settle", "0")).returncode == 0
    assert load_or_create_keys(settings.key_file).current_version == 3
    await wait_for_version(runtime, 3)
    assert await versions(runtime) == {3}
    verified = await adibao(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_old_key_files_still_load(tmp_path: Path) -> None:
    """Key files written before versioned index and audit keys (format 1)."""
    import base64

    import orjson

    raw = orjson.dumps(
        {
            "format": 1,
            "current_version": 1,
            "data_keys": {"1": base64.b64encode(b"k" * 32).decode()},
            "index_key": base64.b64encode(b"i" * 32).decode(),
            "audit_key": base64.b64encode(b"a" * 32).decode(),
        }
    )
    ring = KeyRing.from_json(raw)
    assert ring.index_key == b"i" * 32 and ring.audit_keys == {1: b"a" * 32}
    assert KeyRing.from_json(ring.to_json()) == ring


def test_a_sealer_seals_as_encrypt_does() -> None:
    """The bulk sealer (the seed's) makes blobs `decrypt` opens at their own place
    only, each with a nonce of its own, exactly as `encrypt`'s."""
    cipher = Cipher(KeyRing.generate().rotated())
    seal = cipher.sealer("members", "name")
    blobs = [seal(f"张{i}", f"row{i}") for i in range(1_200)]
    assert len({b[3:15] for b in blobs}) == len(blobs)  # nonces
    for i, blob in enumerate(blobs):
        assert blob[:3] == cipher.encrypt("x", table="members", column="name", row_id="r")[:3]
        assert cipher.decrypt(blob, table="members", column="name", row_id=f"row{i}") == f"张{i}"
    with pytest.raises(InvalidTag):
        cipher.decrypt(blobs[0], table="members", column="name", row_id="row1")
    with pytest.raises(InvalidTag):
        cipher.decrypt(blobs[0], table="members", column="phone", row_id="row0")
