"""Protection of personal data at rest: AES-GCM for values, HMAC-SHA256 blind indexes.

Ciphertexts are bound (as AES-GCM associated data) to their table, column, row
and key version, so a ciphertext copied into another row or column fails to
decrypt instead of silently showing someone else's ID number. The blind index
has its own key: equal ID numbers give equal indexes, which is what lookups and
the duplicate-benefit check need, without ever decrypting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
_HEADER = b"\x01"  # format version of the stored blob: header | key version | nonce | ciphertext


class KeyFileError(RuntimeError):
    """The key file is unreadable, malformed or too widely readable."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    data_keys: dict[int, bytes]
    current_version: int
    index_key: bytes
    audit_key: bytes

    @classmethod
    def generate(cls) -> KeyRing:
        return cls(
            data_keys={1: AESGCM.generate_key(bit_length=256)},
            current_version=1,
            index_key=secrets.token_bytes(32),
            audit_key=secrets.token_bytes(32),
        )

    def to_json(self) -> bytes:
        def b64(raw: bytes) -> str:
            return base64.b64encode(raw).decode()

        return orjson.dumps(
            {
                "format": 1,
                "current_version": self.current_version,
                "data_keys": {str(v): b64(k) for v, k in self.data_keys.items()},
                "index_key": b64(self.index_key),
                "audit_key": b64(self.audit_key),
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, raw: bytes) -> KeyRing:
        try:
            doc = orjson.loads(raw)
            data_keys = {int(v): base64.b64decode(k) for v, k in doc["data_keys"].items()}
            ring = cls(
                data_keys=data_keys,
                current_version=int(doc["current_version"]),
                index_key=base64.b64decode(doc["index_key"]),
                audit_key=base64.b64decode(doc["audit_key"]),
            )
        except (KeyError, ValueError, TypeError, orjson.JSONDecodeError) as exc:
            raise KeyFileError("key file is malformed") from exc
        if ring.current_version not in data_keys or any(len(k) != 32 for k in data_keys.values()):
            raise KeyFileError("key file has no valid current data key")
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
    """Encrypts and decrypts single column values; one instance per process."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys
        self._aead = {version: AESGCM(key) for version, key in keys.data_keys.items()}

    @property
    def keys(self) -> KeyRing:
        return self._keys

    @staticmethod
    def _aad(table: str, column: str, row_id: str, version: int) -> bytes:
        return f"{table}|{column}|{row_id}|{version}".encode()

    def encrypt(self, value: str, *, table: str, column: str, row_id: str) -> bytes:
        version = self._keys.current_version
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead[version].encrypt(
            nonce, value.encode(), self._aad(table, column, row_id, version)
        )
        return _HEADER + version.to_bytes(2, "big") + nonce + sealed

    def decrypt(self, blob: bytes, *, table: str, column: str, row_id: str) -> str:
        if blob[:1] != _HEADER:
            raise ValueError("unknown ciphertext format")
        version = int.from_bytes(blob[1:3], "big")
        nonce, sealed = blob[3 : 3 + NONCE_BYTES], blob[3 + NONCE_BYTES :]
        plain = self._aead[version].decrypt(
            nonce, sealed, self._aad(table, column, row_id, version)
        )
        return plain.decode()

    def blind_index(self, normalized: str) -> bytes:
        return hmac.new(self._keys.index_key, normalized.encode(), hashlib.sha256).digest()
