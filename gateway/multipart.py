"""The GraphQL multipart request (jaydenseric/graphql-multipart-request-spec), read
as a stream with hard limits.

A request is `operations` (the GraphQL request as JSON, each file's place in its
variables null), then `map` (which file goes to which place), then the files, in
that order, so nothing has to be held to be understood later. python-multipart
parses the stream; this module counts every part as it arrives and stops
reading at the first byte over a limit: an oversized file is refused without
being buffered, and so is a request with more parts, files or header bytes than
allowed.

The result is the operation with each file's place filled by an `UploadedFile`,
ready for the same checks and execution as a JSON request (gateway/endpoint.py).
Any mutation taking `Upload` arguments can use it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from domain.documents import MAX_BYTES, MAX_FILENAME, UploadedFile

MULTIPART = "multipart/form-data"
MAX_MAP = 4 * 1024  # bytes of the `map` part: one or a few short paths
MAX_HEADERS = 4  # per part: Content-Disposition and Content-Type are all a part needs
_OVERHEAD = 64 * 1024  # boundaries and part headers, beyond the parts' own limits


class MultipartRefused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class MultipartLimits:
    max_operations: int  # bytes of the `operations` part (the JSON body limit)
    max_file: int = MAX_BYTES
    max_files: int = 1

    @property
    def max_parts(self) -> int:
        return 2 + self.max_files

    @property
    def max_body(self) -> int:
        return self.max_operations + MAX_MAP + self.max_files * self.max_file + _OVERHEAD


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == MULTIPART


@dataclass
class _Part:
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Reader:
    """python-multipart's callbacks: parts in order, each within its limit."""

    def __init__(self, limits: MultipartLimits) -> None:
        self.limits = limits
        self.parts: list[_Part] = []
        self.refusal: MultipartRefused | None = None
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}

    @property
    def current(self) -> _Part:
        return self.parts[-1]

    def refuse(self, message: str, status: int = 400) -> None:
        if self.refusal is None:
            self.refusal = MultipartRefused(message, status)

    def on_part_begin(self) -> None:
        if len(self.parts) >= self.limits.max_parts:
            self.refuse(
                f"At most {self.limits.max_files} file(s) per request, "
                "after `operations` and `map`.",
                413,
            )
        self.parts.append(_Part())
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[bytes(self._header_name).decode("latin-1").lower()] = bytes(
            self._header_value
        )
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        part = self.current
        _, options = parse_options_header(self._headers.get("content-disposition"))
        name, filename = options.get(b"name"), options.get(b"filename")
        part.name = name.decode("utf-8", "replace") if name is not None else None
        if filename is not None:
            part.filename = filename.decode("utf-8", "replace")[:MAX_FILENAME]
        declared = self._headers.get("content-type")
        part.content_type = declared.decode("latin-1")[:100] if declared else None
        expected = ("operations", "map")
        index = len(self.parts) - 1
        if index < len(expected) and part.name != expected[index]:
            self.refuse("Send `operations` first, then `map`, then the files.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.refusal is not None:
            return
        part = self.current
        index = len(self.parts) - 1
        limit = (self.limits.max_operations, MAX_MAP)[index] if index < 2 else self.limits.max_file
        if len(part.data) + (end - start) > limit:
            if index >= 2:
                self.refuse(f"file: at most {self.limits.max_file // (1024 * 1024)} MB", 413)
            else:
                self.refuse(f"`{part.name}` is too large.", 413)
            return
        part.data += data[start:end]


async def read_multipart(
    content_type: str,
    content_length: str | None,
    chunks: AsyncIterator[bytes],
    limits: MultipartLimits,
) -> dict[str, Any]:
    """The operation of a multipart request, each mapped file in its variable's place.

    Raises MultipartRefused with a message for the caller and an HTTP status."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise MultipartRefused("A multipart request needs its boundary.")
    if content_length is not None:
        with contextlib.suppress(ValueError):
            if int(content_length) > limits.max_body:
                raise MultipartRefused("The request body is too large.", 413)
    reader = _Reader(limits)
    callbacks: Any = {
        "on_part_begin": reader.on_part_begin,
        "on_header_field": reader.on_header_field,
        "on_header_value": reader.on_header_value,
        "on_header_end": reader.on_header_end,
        "on_headers_finished": reader.on_headers_finished,
        "on_part_data": reader.on_part_data,
    }
    parser = MultipartParser(boundary, callbacks, max_header_count=MAX_HEADERS)
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limits.max_body:
                reader.refuse("The request body is too large.", 413)
            if reader.refusal is not None:
                raise reader.refusal  # stop reading: nothing more is buffered
            parser.write(chunk)
            if reader.refusal is not None:
                raise reader.refusal
        parser.finalize()
    except MultipartParseError:
        raise MultipartRefused("The multipart body is malformed.") from None
    if reader.refusal is not None:
        raise reader.refusal
    return _operation(reader.parts)


def _operation(parts: list[_Part]) -> dict[str, Any]:
    if len(parts) < 2:
        raise MultipartRefused("Send `operations` first, then `map`, then the files.")
    try:
        operations = orjson.loads(bytes(parts[0].data))
        mapping = orjson.loads(bytes(parts[1].data))
    except orjson.JSONDecodeError:
        raise MultipartRefused("`operations` and `map` must be JSON.") from None
    if isinstance(operations, list):
        raise MultipartRefused("Batched operations are not accepted; send one per request.")
    if not isinstance(operations, dict) or not isinstance(mapping, dict):
        raise MultipartRefused("`operations` and `map` must be JSON objects.")
    files = {p.name: p for p in parts[2:]}
    if len(files) != len(parts) - 2 or set(files) != set(mapping):
        raise MultipartRefused("`map` must name each file part once, and only those.")
    placed: list[tuple[list[str], UploadedFile]] = []
    for key, paths in mapping.items():
        if not isinstance(paths, list) or len(paths) != 1 or not isinstance(paths[0], str):
            raise MultipartRefused(f"`map`: file {key!r} goes to exactly one variable.")
        part = files[key]
        if part.filename is None:
            raise MultipartRefused(f"Part {key!r} is not a file.")
        upload = UploadedFile(
            filename=part.filename, declared_type=part.content_type, data=bytes(part.data)
        )
        placed.append((paths[0].split("."), upload))
    for path, upload in placed:
        _place(operations, path, upload)
    return operations


def _place(operations: dict[str, Any], path: list[str], upload: UploadedFile) -> None:
    """Put the file where `operations` holds null for it, inside `variables` only."""
    if len(path) < 2 or path[0] != "variables" or not isinstance(operations.get("variables"), dict):
        raise MultipartRefused("`map`: a file goes to a place under `variables`.")
    target: Any = operations["variables"]
    for step in path[1:-1]:
        if isinstance(target, dict):
            target = target.get(step)
        elif isinstance(target, list) and step.isdigit() and int(step) < len(target):
            target = target[int(step)]
        else:
            target = None
        if target is None:
            raise MultipartRefused("`map`: no such place in `variables`.")
    last = path[-1]
    if isinstance(target, dict) and last in target and target[last] is None:
        target[last] = upload
    elif isinstance(target, list) and last.isdigit() and int(last) < len(target):
        if target[int(last)] is not None:
            raise MultipartRefused("`map`: a file's place must hold null.")
        target[int(last)] = upload
    else:
        raise MultipartRefused("`map`: a file's place must hold null.")
