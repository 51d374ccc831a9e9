"""Persisted queries as Apollo Client, GraphQL codegen and Relay send them: APQ's
`extensions.persistedQuery` round trip, a trusted-document manifest (hash -> text) given
to `dibao token issue --documents`, its ids as APQ hashes, `documentId` and Relay's
`doc_id`. Registrations are per credential, bounded, and only of texts within the
limits; a documents-only credential still runs only its documents. Every request,
PersistedQueryNotFound included, leaves one audit entry."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import Settings
from gateway.persisted import Remembered
from gateway.runtime import Runtime
from tests.audit.test_audit_log import entries
from tests.cli.test_cli import adibao
from tests.conftest import Api
from tests.helpers import CASEWORKER_TOWNSHIP, issue_token, load_regions

NEW = "application/graphql-response+json"
COUNT = "query Count { households(first: 1) { totalCount } }"
STATUS = "query Status { households(first: 2) { edges { node { status } } } }"
OTHER = "query Other { households(first: 3) { totalCount } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str, query: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if query is not None:
        body["query"] = query
    return body


async def send(
    api: Api, token: str, body: dict[str, Any], accept: str = "application/json"
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}", "accept": accept}
    return await api.client.post("/graphql", json=body, headers=headers)


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    error = response.json()["errors"][0]
    assert error == {
        "message": "PersistedQueryNotFound",
        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
    }


@pytest.fixture
async def worker(runtime: Runtime) -> str:
    await load_regions(runtime)
    return await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-apq")


async def test_the_apollo_round_trip_and_one_entry_each(
    api: Api, runtime: Runtime, worker: str
) -> None:
    before = len(await entries(runtime))
    digest = sha256(COUNT)
    assert_not_found(await send(api, worker, apq(digest)))
    registered = await send(api, worker, apq(digest, COUNT))
    assert registered.json() == {"data": {"households": {"totalCount": 0}}}
    again = await send(api, worker, apq(digest))
    assert again.json() == registered.json()

    written = (await entries(runtime))[before:]
    assert [e["outcome"] for e in written] == ["refused", "allowed", "allowed"]
    miss = written[0]
    assert miss["error_codes"] == ["PERSISTED_QUERY_NOT_FOUND"]
    assert miss["principal"] == "cw-apq" and miss["http_status"] == 200
    # a text's bare hash can be matched against guessed texts: only a keyed one is kept
    assert digest not in json.dumps(miss)
    assert miss["document_hash"].startswith("raw:")
    # the text sent and the text recalled are the same document to the audit
    assert written[1]["document_hash"] == written[2]["document_hash"]
    assert written[2]["fields"] == written[1]["fields"] != {}


async def test_not_found_is_a_404_for_the_spec_media_type(api: Api, worker: str) -> None:
    response = await send(api, worker, apq(sha256(OTHER)), accept=f"{NEW}, application/json")
    # 4xx as the spec wants for a request that never ran; not 400, on which Apollo
    # Client turns persisted queries off for the session
    assert response.status_code == 404
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hash_that_is_not_the_texts_is_refused_and_not_stored(
    api: Api, runtime: Runtime, worker: str
) -> None:
    wrong = sha256(STATUS)
    response = await send(api, worker, apq(wrong, COUNT))
    assert response.status_code == 400 and code(response) == "BAD_USER_INPUT"
    assert "sha does not match" in response.json()["errors"][0]["message"]
    assert_not_found(await send(api, worker, apq(wrong)))  # COUNT is not under STATUS's hash
    assert (await entries(runtime))[-1]["error_codes"] == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "persisted",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"sha256Hash": "0" * 64},
        {"version": 1, "sha256Hash": "0" * 63},
        {"version": 1, "sha256Hash": "g" * 64},
        {"version": 1, "sha256Hash": 7},
        "sha256",
    ],
)
async def test_a_malformed_persisted_query_is_bad_input(
    api: Api, worker: str, persisted: Any
) -> None:
    response = await send(api, worker, {"extensions": {"persistedQuery": persisted}})
    assert response.status_code == 400 and code(response) == "BAD_USER_INPUT"


async def test_a_hash_with_a_document_id_is_bad_input(api: Api, worker: str) -> None:
    body = {**apq(sha256(COUNT)), "documentId": "sha256:" + sha256(COUNT)}
    response = await send(api, worker, body)
    assert response.status_code == 400 and code(response) == "BAD_USER_INPUT"


async def test_one_credentials_registration_is_not_anothers(
    api: Api, runtime: Runtime, worker: str
) -> None:
    other = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-other")
    digest = sha256(STATUS)
    assert (await send(api, worker, apq(digest, STATUS))).json()["data"] is not None
    assert (await send(api, worker, apq(digest))).json()["data"] is not None
    # another caller learns nothing of what this one ran lately
    assert_not_found(await send(api, other, apq(digest)))


async def test_texts_over_the_limits_are_never_stored(
    api: Api, runtime: Runtime, worker: str
) -> None:
    huge = "query Huge { __typename }" + " " * (32 * 1024)
    response = await send(api, worker, apq(sha256(huge), huge))
    assert response.status_code == 413
    assert_not_found(await send(api, worker, apq(sha256(huge))))

    aliases = "query Wide { " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    response = await send(api, worker, apq(sha256(aliases), aliases))
    assert code(response) == "QUERY_TOO_COMPLEX"
    assert_not_found(await send(api, worker, apq(sha256(aliases))))


def test_the_registrations_are_bounded() -> None:
    """However many texts callers register, the memory holds a bounded number and size."""
    remembered = Remembered(max_entries=24, max_chars=800)  # a credential's share: 3, 100
    for n in range(10):
        remembered.remember("c", f"h{n}", "x" * 10)
    assert len(remembered) == 3
    assert remembered.recall("c", "h0") is None and remembered.recall("c", "h9") is not None
    for n in range(5):
        remembered.remember("d", f"big{n}", "y" * 40)
    assert len(remembered) == 3 + 2  # d's two newest: 80 of its 100 characters
    assert remembered.recall("d", "big2") is None and remembered.recall("d", "big4") is not None
    remembered.remember("d", "huge", "z" * 101)  # larger than its share: not kept
    assert remembered.recall("d", "huge") is None
    # many credentials together: the whole stays within its bounds
    for n in range(50):
        remembered.remember(f"e{n}", "h", "w" * 30)
    assert len(remembered) <= 24 and remembered.chars <= 800


def test_one_credential_cannot_evict_the_others_registrations() -> None:
    """A caller registering text after text (each one costs it a request) evicts its own
    oldest; another credential's registration stays recallable."""
    remembered = Remembered(max_entries=64, max_chars=10_000)
    remembered.remember("partner", "theirs", "query Theirs { __typename }")
    for n in range(1_000):
        remembered.remember("flooder", f"h{n}", f"query Q{n} {{ __typename }}")
    assert remembered.recall("partner", "theirs") == "query Theirs { __typename }"
    assert len(remembered) == 1 + 64 // 8
    assert remembered.recall("flooder", "h999") is not None
    assert remembered.recall("flooder", "h0") is None


async def _manifest_token(settings: Settings, tmp_path: Path, manifest: dict[str, str]) -> str:
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps(manifest))
    issued = await adibao(
        settings, "token", "issue", "--principal", "front-end", "--role", "caseworker",
        "--region", CASEWORKER_TOWNSHIP, "--documents", str(path),
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip().splitlines()[-1]


async def test_a_manifest_binds_a_credential_to_its_documents(
    api: Api, runtime: Runtime, worker: str, settings: Settings, tmp_path: Path
) -> None:
    md5 = hashlib.md5(STATUS.encode()).hexdigest()  # noqa: S324 - Relay's default id
    token = await _manifest_token(settings, tmp_path, {sha256(COUNT): COUNT, md5: STATUS})

    # the manifest's own ids, each way a client sends them
    by_apq = await send(api, token, apq(sha256(COUNT)))
    assert by_apq.json() == {"data": {"households": {"totalCount": 0}}}
    by_id = await send(api, token, {"documentId": "sha256:" + sha256(COUNT)})
    assert by_id.json() == by_apq.json()
    by_relay = await send(api, token, {"doc_id": md5})
    assert by_relay.json() == {"data": {"households": {"edges": []}}}
    assert (await send(api, token, {"query": COUNT})).json() == by_apq.json()

    # APQ does not widen it: a text outside the manifest is refused, and not remembered
    refused = await send(api, token, apq(sha256(OTHER), OTHER))
    assert code(refused) == "FORBIDDEN" and refused.json()["data"] is None
    assert_not_found(await send(api, token, apq(sha256(OTHER))))
    # nor does another credential's registration of it
    assert (await send(api, worker, apq(sha256(OTHER), OTHER))).json()["data"] is not None
    assert_not_found(await send(api, token, apq(sha256(OTHER))))
    # a manifest document is no licence for any other credential to skip its own rules
    assert (await send(api, worker, apq(sha256(COUNT)))).json()["data"] is not None
    assert [e["outcome"] for e in (await entries(runtime))[-4:]] == [
        "refused",
        "allowed",
        "refused",
        "allowed",
    ]


@pytest.mark.parametrize(
    "manifest",
    [
        {sha256(COUNT): OTHER},  # the key is not the text's hash
        {"abc": COUNT},  # not a digest
        {sha256(COUNT + COUNT): COUNT + COUNT},  # two operations under one id
        [COUNT],
    ],
)
async def test_a_wrong_manifest_is_refused_by_the_cli(
    settings: Settings, runtime: Runtime, tmp_path: Path, manifest: Any
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    issued = await adibao(
        settings, "token", "issue", "--principal", "p", "--role", "caseworker",
        "--region", CASEWORKER_TOWNSHIP, "--documents", str(path),
    )  # fmt: skip
    assert issued.returncode != 0
    assert "documents" in issued.stderr + issued.stdout
