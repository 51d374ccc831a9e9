"""The multipart reader stops at the first byte over a limit: an oversized file or
body is refused without the rest of the stream being read, let alone held."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from domain.documents import UploadedFile
from gateway.multipart import MultipartLimits, MultipartRefused, read_multipart

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
LIMITS = MultipartLimits(max_operations=64 * 1024, max_file=1024 * 1024, max_files=1)
CHUNK = 64 * 1024


def head(name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()


def body(file_size: int) -> list[bytes]:
    operations = orjson.dumps(
        {"query": "mutation($f: Upload!) { x(f: $f) }", "variables": {"f": None}}
    )
    prefix = (
        head("operations") + operations + b"\r\n"
        + head("map") + b'{"0": ["variables.f"]}\r\n'
        + head("0", "scan.pdf")
    )  # fmt: skip
    chunks = [prefix]
    sent = 0
    while sent < file_size:
        size = min(CHUNK, file_size - sent)
        chunks.append(b"%" * size)
        sent += size
    chunks.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    return chunks


class Stream:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


async def test_a_file_within_the_limit_takes_its_place() -> None:
    stream = Stream(body(LIMITS.max_file))
    operation = await read_multipart(CONTENT_TYPE, None, stream.__aiter__(), LIMITS)
    upload = operation["variables"]["f"]
    assert isinstance(upload, UploadedFile)
    assert upload.data == b"%" * LIMITS.max_file and upload.filename == "scan.pdf"
    assert "%" not in repr(upload)  # never the bytes in a log line or a traceback


async def test_an_oversized_file_stops_the_reading() -> None:
    chunks = body(LIMITS.max_file * 50)
    stream = Stream(chunks)
    with pytest.raises(MultipartRefused) as refused:
        await read_multipart(CONTENT_TYPE, None, stream.__aiter__(), LIMITS)
    assert refused.value.status == 413
    # one chunk past the limit at most: the remaining 49 MB are never read
    assert stream.read <= LIMITS.max_file // CHUNK + 2 < len(chunks)


async def test_a_declared_length_over_the_limit_reads_nothing() -> None:
    stream = Stream(body(10))
    with pytest.raises(MultipartRefused) as refused:
        await read_multipart(CONTENT_TYPE, str(LIMITS.max_body + 1), stream.__aiter__(), LIMITS)
    assert refused.value.status == 413
    assert stream.read == 0


async def test_an_undeclared_body_over_the_limit_is_cut() -> None:
    # no file part at all, only an endless `operations`
    chunks = [head("operations"), *([b" " * CHUNK] * 100)]
    stream = Stream(chunks)
    with pytest.raises(MultipartRefused) as refused:
        await read_multipart(CONTENT_TYPE, None, stream.__aiter__(), LIMITS)
    assert refused.value.status == 413
    assert stream.read <= LIMITS.max_operations // CHUNK + 2
