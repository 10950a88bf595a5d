"""The gateway's listener, guarded: at most ``max_connections`` open (new
ones beyond are closed at once, before any TLS), the TLS handshake and the
first request's headers due within ``header_timeout``, keep-alive
connections closed after ``http_idle_timeout`` without a request (aiohttp's
keepalive_timeout). Connections are counted at the TCP level, so one stuck
in its TLS handshake counts too."""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from typing import Any

import structlog
from aiohttp import web
from shoal.apiserver.connlimits import ConnectionLimits, OnceIn
from shoal.apiserver.listen import shared_port

log = structlog.get_logger("gateway")


class _Counted(asyncio.Protocol):
    """Delegates to the real protocol; tells the site when the connection ends."""

    def __init__(self, inner: Any, site: GuardedSite) -> None:
        self.inner, self.site = inner, site
        self.transport: asyncio.BaseTransport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self.site.open -= 1
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()  # type: ignore[no-any-return]


class _CountedBuffered(_Counted, asyncio.BufferedProtocol):
    """The same around asyncio's TLS protocol, which reads into buffers."""

    def get_buffer(self, sizehint: int) -> Any:
        return self.inner.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self.inner.buffer_updated(nbytes)


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]


class GuardedSite(web.TCPSite):
    def __init__(self, runner: web.BaseRunner, host: str, port: int, *,
                 ssl_context: ssl.SSLContext | None, limits: ConnectionLimits) -> None:  # fmt: skip
        super().__init__(runner, host, port, ssl_context=ssl_context)
        self.limits = limits
        self.open = 0
        self._complain = OnceIn()

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_port=shared_port() or None,  # shoal server --api-processes N
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]

    def _protocol(self) -> asyncio.BaseProtocol:
        if self.open >= self.limits.max_connections:
            self._refuse()
            return _Refused()
        server = self._runner.server
        assert server is not None
        handler = server()
        loop = asyncio.get_running_loop()
        counted: _Counted
        if self._ssl_context is None:
            counted = _Counted(handler, self)
        else:
            # What loop.create_server(ssl=...) makes, made here so that the
            # connection is counted (and refused) before TLS. No waiter: an
            # unawaited one would log every failed handshake.
            tls = sslproto.SSLProtocol(
                loop, handler, self._ssl_context, None,  # type: ignore[arg-type]
                server_side=True,
                ssl_handshake_timeout=self.limits.header_timeout,  # type: ignore[arg-type]
            )  # fmt: skip
            counted = _CountedBuffered(tls, self)
        self.open += 1
        loop.call_later(self.limits.header_timeout, _check_headers, counted, handler)
        return counted

    def _refuse(self) -> None:
        if self._complain():
            log.warning(
                "too many connections to the HTTP gateway: refusing new ones",
                max_connections=self.limits.max_connections,
                refused_since_last_warning=self._complain.take_suppressed(),
                hint="shoal server --max-connections",
            )


def _check_headers(counted: _Counted, handler: Any) -> None:
    """Close a connection whose first request's headers have not arrived.
    (aiohttp counts parsed requests in ``_request_count``; without it the
    keep-alive timeout still closes the connection, later.)"""
    requests = getattr(handler, "_request_count", None)
    if counted.closed or requests is None or requests > 0 or counted.transport is None:
        return
    counted.transport.abort()  # type: ignore[attr-defined]
