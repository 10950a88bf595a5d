"""Carrying a SPDY/3.1 session over an HTTP request: the plain upgrade
(``Upgrade: SPDY/3.1``, answered ``101 Switching Protocols``) and the
WebSocket tunnel (subprotocol ``SPDY/3.1+<protocol>``, every binary message a
piece of the SPDY byte stream), as kubectl 1.31+ tries first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import WSMsgType, web
from shoal.plugins.gateway.spdysession import Session, StreamHandler
from shoal.plugins.gateway.status import StatusError, bad_request

SPDY31 = "SPDY/3.1"
TUNNEL_PREFIX = "SPDY/3.1+"
PROTOCOL_VERSION = "X-Stream-Protocol-Version"
READ_LIMIT = 1024 * 1024  # bytes read ahead before the connection stops being read
# Called once upgraded, with the negotiated protocol and the session, before it is served.
Upgraded = Callable[[str, Session], Awaitable[None]]


def offered_tunnel(request: web.Request) -> list[str]:
    """The WebSocket subprotocols of a SPDY tunnel request, without the prefix."""
    offered = request.headers.getall("Sec-WebSocket-Protocol", [])
    names = [p.strip() for value in offered for p in value.split(",")]
    return [p[len(TUNNEL_PREFIX) :] for p in names if p.startswith(TUNNEL_PREFIX)]


def wants_spdy(request: web.Request) -> bool:
    upgrade = request.headers.get("Upgrade", "").lower()
    return SPDY31.lower() in upgrade or bool(offered_tunnel(request))


def negotiate(request: web.Request, supported: tuple[str, ...]) -> str:
    """The first of the client's X-Stream-Protocol-Version values we speak
    (Kubernetes' httpstream.Handshake: none offered is a 400, no match a 403)."""
    offered = [
        p.strip() for v in request.headers.getall(PROTOCOL_VERSION, []) for p in v.split(",")
    ]
    offered = [p for p in offered if p]
    if not offered:
        raise bad_request(f"unable to upgrade: {PROTOCOL_VERSION} is required")
    for protocol in offered:
        if protocol in supported:
            return protocol
    raise StatusError(
        "Forbidden",
        f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
        f"server accepts {list(supported)}",
    )


async def serve(
    request: web.Request, supported: tuple[str, ...], opened: StreamHandler,
    upgraded: Upgraded | None = None,
) -> tuple[web.StreamResponse, str]:  # fmt: skip
    """Upgrade ``request`` (either way), then run a SPDY session whose new
    streams go to ``opened``; returns when the client goes. Errors before the
    upgrade are Status responses."""
    tunnel = offered_tunnel(request)
    if tunnel:
        return await _serve_tunnel(request, supported, tunnel, opened, upgraded)
    connection = request.headers.get("Connection", "").lower()
    if "upgrade" not in connection:
        raise bad_request("unable to upgrade: missing upgrade headers in request")
    protocol = negotiate(request, supported)
    response = web.StreamResponse(
        status=101,
        headers={"Connection": "Upgrade", "Upgrade": SPDY31, PROTOCOL_VERSION: protocol},
    )
    response.force_close()
    reader = _UpgradedReader(request)
    request.protocol.set_parser(reader)  # type: ignore[union-attr, arg-type]
    await response.prepare(request)
    session = Session(response.write, opened)
    if upgraded is not None:
        await upgraded(protocol, session)
    await session.serve(reader)
    return response, protocol


async def _serve_tunnel(
    request: web.Request, supported: tuple[str, ...], offered: list[str], opened: StreamHandler,
    upgraded: Upgraded | None,
) -> tuple[web.StreamResponse, str]:  # fmt: skip
    protocol = next((p for p in offered if p in supported), None)
    if protocol is None:
        raise StatusError(
            "Forbidden",
            f"unable to upgrade: unable to negotiate protocol: client supports "
            f"{[TUNNEL_PREFIX + p for p in offered]}, server accepts {list(supported)}",
        )
    ws = web.WebSocketResponse(protocols=(TUNNEL_PREFIX + protocol,), max_msg_size=0)
    if not ws.can_prepare(request).ok:
        raise bad_request("unable to upgrade: not a WebSocket request")
    await ws.prepare(request)
    session = Session(ws.send_bytes, opened)
    try:
        if upgraded is not None:
            await upgraded(protocol, session)
        await session.serve(_messages(ws))
    finally:
        await ws.close()
    return ws, protocol


async def _messages(ws: web.WebSocketResponse) -> AsyncIterator[bytes]:
    async for message in ws:
        if message.type == WSMsgType.BINARY:
            yield bytes(message.data)
        elif message.type != WSMsgType.TEXT:
            return


class _UpgradedReader:
    """aiohttp hands the bytes that follow our 101 to ``feed_data`` (the
    hook its WebSocket support uses); they come out of the async iterator."""

    def __init__(self, request: web.Request) -> None:
        self._transport = request.transport
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._size = 0
        self._paused = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._chunks.put_nowait(bytes(data))
        self._size += len(data)
        if self._size > READ_LIMIT and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        return False, b""

    def feed_eof(self) -> None:
        self._chunks.put_nowait(b"")

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while data := await self._chunks.get():
            self._size -= len(data)
            if self._paused and self._size <= READ_LIMIT // 2 and self._transport is not None:
                self._paused = False
                self._transport.resume_reading()
            yield data
