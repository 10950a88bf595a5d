"""A tiny asyncio HTTP/1.1 client for the Docker and Podman engine APIs.

The SDKs are blocking; a followed log or an interactive exec would pin a
pool thread each for as long as it lasts. Streams therefore talk to the
engine's socket directly here, on the event loop: plain requests, chunked
bodies, and the connection "hijack" that exec uses for stdin.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from shoal.runtime import ContainerNotFound, RuntimeFailure

Stream = Literal["stdout", "stderr"]
_STREAMS: dict[int, Stream] = {0: "stdout", 1: "stdout", 2: "stderr"}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @property
    def chunked(self) -> bool:
        return self.headers.get("transfer-encoding", "").lower() == "chunked"


@dataclass(frozen=True)
class Endpoint:
    """Where an engine's API answers: ``unix:///path`` or ``tcp://host:port``,
    and the path prefix of its API version (``/v1.41``, ``/v4.0.0/libpod``)."""

    url: str
    prefix: str

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.url)
        if parts.scheme in ("unix", "http+unix"):
            return await asyncio.open_unix_connection(parts.path, limit=1 << 20)
        return await asyncio.open_connection(parts.hostname, parts.port or 2375, limit=1 << 20)

    async def request(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: Any = None,
        upgrade: bool = False,
    ) -> Response:
        """Send a request; the response's body is left to read."""
        reader, writer = await self.connect()
        target = self.prefix + path + (f"?{urlencode(query)}" if query else "")
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {target} HTTP/1.1", "Host: engine", f"Content-Length: {len(data)}"]
        head.append("Content-Type: application/json")
        head += ["Connection: Upgrade", "Upgrade: tcp"] if upgrade else ["Connection: close"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()
        status, headers = await _read_head(reader)
        return Response(status, headers, reader, writer)

    async def call(
        self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """A request whose answer is JSON (or nothing); errors raised."""
        response = await self.request(method, path, query, body)
        try:
            raw = b"".join([chunk async for chunk in body_chunks(response)])
        finally:
            response.writer.close()
        check(response.status, raw, path)
        return json.loads(raw) if raw.strip() else None


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return status, headers


def check(status: int, raw: bytes, what: str) -> None:
    """Raise the contract's error for an engine error answer."""
    if status < 400:
        return
    try:
        message = json.loads(raw).get("message") or raw.decode(errors="replace")
    except ValueError:
        message = raw.decode(errors="replace")
    message = message.strip() or f"HTTP {status} from the engine for {what}"
    if status == 404:
        raise ContainerNotFound(message)
    if status == 409 and "not running" in message:
        raise RuntimeFailure(message, "ContainerNotRunning")
    raise RuntimeFailure(message)


async def body_chunks(response: Response) -> AsyncIterator[bytes]:
    """The response body as it arrives (chunked, sized, or until close)."""
    reader = response.reader
    if response.chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                return
            yield await reader.readexactly(size)
            await reader.readexactly(2)  # the CRLF after each chunk
    length = response.headers.get("content-length")
    if length is not None:
        if int(length):
            yield await reader.readexactly(int(length))
        return
    while chunk := await reader.read(65536):
        yield chunk


async def demux(chunks: AsyncIterator[bytes], tty: bool) -> AsyncIterator[tuple[Stream, bytes]]:
    """Split the engines' multiplexed stream (8-byte frame headers naming
    stdout or stderr) into ``(stream, data)``; a tty stream is raw stdout."""
    if tty:
        async for chunk in chunks:
            yield "stdout", chunk
        return
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        while len(buffer) >= 8:
            kind, size = struct.unpack(">BxxxL", buffer[:8])
            if len(buffer) < 8 + size:
                break
            yield _STREAMS.get(kind, "stdout"), buffer[8 : 8 + size]
            buffer = buffer[8 + size :]
