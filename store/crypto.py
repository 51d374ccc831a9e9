"""Protection of personal data at rest: AES-GCM for values, HMAC-SHA256 blind indexes.

Ciphertexts are bound (as AES-GCM associated data) to their table, column, row
and key version, so a ciphertext copied into another row or column fails to
decrypt instead of silently showing someone else's ID number. The blind index
has its own key: equal ID numbers give equal indexes, which is what lookups and
the duplicate-benefit check need, without ever decrypting.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
_HEADER = b"\x01"  # format version of the stored blob: header | key version | nonce | ciphertext
_CHUNK_HEADER = b"\x02"  # one chunk of a file sealed in pieces: the same layout, other AAD
_NONCES_PER_READ = 512


def _nonce_stream() -> Iterator[bytes]:
    """Random nonces from one read of the OS's random source per 512 (a read per value
    was a tenth of the bulk sealing's time); each is as random as a `token_bytes`."""
    while True:
        raw = os.urandom(NONCE_BYTES * _NONCES_PER_READ)
        yield from (raw[i : i + NONCE_BYTES] for i in range(0, len(raw), NONCE_BYTES))


class KeyFileError(RuntimeError):
    """The key file is unreadable, malformed or too widely readable."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Versioned keys: AES-GCM data keys, blind-index keys and audit keys.

    A rotation adds version N+1 of all three and makes it current; older versions
    stay to open old ciphertexts, match old indexes and verify old audit entries.
    """

    data_keys: dict[int, bytes]
    current_version: int
    index_keys: dict[int, bytes]
    audit_keys: dict[int, bytes]

    @property
    def index_key(self) -> bytes:
        return self.index_keys[self.current_version]

    @property
    def audit_key(self) -> bytes:
        return self.audit_keys[self.current_version]

    @classmethod
    def generate(cls) -> KeyRing:
        return cls(
            data_keys={1: AESGCM.generate_key(bit_length=256)},
            current_version=1,
            index_keys={1: secrets.token_bytes(32)},
            audit_keys={1: secrets.token_bytes(32)},
        )

    def rotated(self) -> KeyRing:
        """This ring plus a new current version of every key."""
        version = max(self.data_keys) + 1
        return KeyRing(
            data_keys={**self.data_keys, version: AESGCM.generate_key(bit_length=256)},
            current_version=version,
            index_keys={**self.index_keys, version: secrets.token_bytes(32)},
            audit_keys={**self.audit_keys, version: secrets.token_bytes(32)},
        )

    def to_json(self) -> bytes:
        def b64(keys: dict[int, bytes]) -> dict[str, str]:
            return {str(v): base64.b64encode(k).decode() for v, k in sorted(keys.items())}

        return orjson.dumps(
            {
                "format": 2,
                "current_version": self.current_version,
                "data_keys": b64(self.data_keys),
                "index_keys": b64(self.index_keys),
                "audit_keys": b64(self.audit_keys),
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, raw: bytes) -> KeyRing:
        def keys(doc: dict[str, str]) -> dict[int, bytes]:
            return {int(v): base64.b64decode(k) for v, k in doc.items()}

        try:
            doc = orjson.loads(raw)
            if doc.get("format", 1) == 1:  # one index and one audit key, version 1
                doc["index_keys"] = {"1": doc["index_key"]}
                doc["audit_keys"] = {"1": doc["audit_key"]}
            ring = cls(
                data_keys=keys(doc["data_keys"]),
                current_version=int(doc["current_version"]),
                index_keys=keys(doc["index_keys"]),
                audit_keys=keys(doc["audit_keys"]),
            )
        except (KeyError, ValueError, TypeError, AttributeError, orjson.JSONDecodeError) as exc:
            raise KeyFileError("key file is malformed") from exc
        version = ring.current_version
        present = all(
            version in keys for keys in (ring.data_keys, ring.index_keys, ring.audit_keys)
        )
        if not present or any(len(k) != 32 for k in ring.data_keys.values()):
            raise KeyFileError("key file has no valid current data key")
        return ring


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Replace the key file atomically (readers see the old or the new, whole), 0600."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(ring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def rotate_key_file(path: Path) -> KeyRing:
    """Add a new current version to the key file; returns the new ring."""
    ring = load_or_create_keys(path).rotated()
    write_key_file(path, ring)
    return ring


def load_or_create_keys(path: Path) -> KeyRing:
    """Read the key file, creating it (mode 0600, exclusively) on first run."""
    if not path.exists():
        ring = KeyRing.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_keys(path)  # another process created it first
        with os.fdopen(fd, "wb") as handle:
            handle.write(ring.to_json())
        return ring
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} must not be readable by group or others (chmod 600)")
    return KeyRing.from_json(path.read_bytes())


class Cipher:
    """Encrypts and decrypts single column values; one instance per process.

    `reload` swaps in a rotated key ring while the process runs (see Runtime).
    """

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys
        self._aead = {version: AESGCM(key) for version, key in keys.data_keys.items()}

    @property
    def keys(self) -> KeyRing:
        return self._keys

    def reload(self, keys: KeyRing) -> None:
        aead = {version: AESGCM(key) for version, key in keys.data_keys.items()}
        self._aead, self._keys = aead, keys  # readers see the old pair or the new one

    @staticmethod
    def _aad(table: str, column: str, row_id: str, version: int) -> bytes:
        return f"{table}|{column}|{row_id}|{version}".encode()

    def encrypt(self, value: str, *, table: str, column: str, row_id: str) -> bytes:
        return self.seal(value.encode(), table=table, column=column, row_id=row_id)

    def sealer(self, table: str, column: str) -> Callable[[str, str], bytes]:
        """`encrypt` for many values of one column (value, row id): the same blobs, bound
        the same way, at a fraction of the cost per value (bulk writers, the seed). Not
        for sharing between threads: it holds its own stream of nonces."""
        version = self._keys.current_version
        encrypt = self._aead[version].encrypt
        head = _HEADER + version.to_bytes(2, "big")
        place, tail = f"{table}|{column}|", f"|{version}"
        nonces = _nonce_stream()

        def seal(value: str, row_id: str) -> bytes:
            nonce = next(nonces)
            return head + nonce + encrypt(nonce, value.encode(), f"{place}{row_id}{tail}".encode())

        return seal

    def decrypt(self, blob: bytes, *, table: str, column: str, row_id: str) -> str:
        return self.open(blob, table=table, column=column, row_id=row_id).decode()

    def seal(self, plain: bytes, *, table: str, column: str, row_id: str) -> bytes:
        """Bytes under the current key version, bound to their place (scanned documents)."""
        version = self._keys.current_version
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead[version].encrypt(
            nonce, plain, self._aad(table, column, row_id, version)
        )
        return _HEADER + version.to_bytes(2, "big") + nonce + sealed

    def open(self, blob: bytes, *, table: str, column: str, row_id: str) -> bytes:
        """Bytes sealed under any version the ring still holds (rotation keeps them all)."""
        if blob[:1] != _HEADER:
            raise ValueError("unknown ciphertext format")
        version = int.from_bytes(blob[1:3], "big")
        nonce, sealed = blob[3 : 3 + NONCE_BYTES], blob[3 + NONCE_BYTES :]
        return self._aead[version].decrypt(nonce, sealed, self._aad(table, column, row_id, version))

    def seal_chunk(
        self, plain: bytes, *, table: str, column: str, row_id: str, index: int, last: bool
    ) -> bytes:
        """One piece of a file sealed in pieces, each with its own tag.

        The piece's place (the file's row, its index, and whether it is the last) is in
        the associated data: a piece moved to another file or index, pieces dropped
        from the end (the new end is not marked last) or one appended after the last
        all fail to open, exactly as a changed byte does."""
        version = self._keys.current_version
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = self._chunk_aad(table, column, row_id, version, index, last)
        sealed = self._aead[version].encrypt(nonce, plain, aad)
        return _CHUNK_HEADER + version.to_bytes(2, "big") + nonce + sealed

    def open_chunk(
        self, blob: bytes, *, table: str, column: str, row_id: str, index: int, last: bool
    ) -> bytes:
        """The piece's bytes, only once its tag verified (AES-GCM releases nothing
        before); raises `ValueError` or `InvalidTag` otherwise."""
        if blob[:1] != _CHUNK_HEADER:
            raise ValueError("unknown chunk format")
        version = int.from_bytes(blob[1:3], "big")
        aead = self._aead.get(version)
        if aead is None:
            raise ValueError("chunk sealed under a key version this ring lacks")
        nonce, sealed = blob[3 : 3 + NONCE_BYTES], blob[3 + NONCE_BYTES :]
        return aead.decrypt(
            nonce, sealed, self._chunk_aad(table, column, row_id, version, index, last)
        )

    @staticmethod
    def _chunk_aad(
        table: str, column: str, row_id: str, version: int, index: int, last: bool
    ) -> bytes:
        place = "last" if last else "more"
        return f"{table}|{column}|{row_id}|{version}|chunk|{index}|{place}".encode()

    def is_current(self, blob: bytes) -> bool:
        return int.from_bytes(blob[1:3], "big") == self._keys.current_version

    def blind_index(self, normalized: str) -> bytes:
        """The index under the current key: what new rows store."""
        return hmac.digest(self._keys.index_key, normalized.encode(), "sha256")

    def blind_indexes(self, normalized: str) -> tuple[bytes, ...]:
        """The index under every key version, current first: what lookups match, so
        rows not yet re-indexed after a rotation are still found."""
        keys = self._keys
        ordered = [
            keys.current_version,
            *sorted(v for v in keys.index_keys if v != keys.current_version),
        ]
        return tuple(
            hmac.digest(keys.index_keys[v], normalized.encode(), "sha256") for v in ordered
        )
