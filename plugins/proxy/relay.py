"""Moving bytes: a TCP listener that relays each accepted connection to an
endpoint the balancer picks (trying the next when one refuses), and a UDP
listener that keeps one upstream socket per client address.

Listening sockets are plain asyncio servers, so the same code serves a
NodePort on the node's address and, in kernel mode, the port the host's NAT
rules redirect a ClusterIP to.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any

import structlog
from shoal.plugins.proxy.balancer import Endpoint, ServiceBalancer

log = structlog.get_logger("proxy")

CONNECT_TIMEOUT = 2.0
CHUNK = 256 * 1024
UDP_IDLE = 30.0  # seconds a UDP client may stay quiet before its session goes


class TCPListener:
    def __init__(self, name: str, host: str, port: int, balancer: ServiceBalancer) -> None:
        self.name, self.host, self.port = name, host, port
        self.balancer = balancer
        self._server: asyncio.Server | None = None
        self._relays: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._accepted, self.host, self.port, reuse_address=True, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._relays.add(task)
            task.add_done_callback(self._relays.discard)
        peer = writer.get_extra_info("peername") or ("", 0)
        upstream = await self._connect(str(peer[0]))
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()

    async def _connect(self, client_ip: str) -> tuple[Any, Any] | None:
        for endpoint in self.balancer.candidates(client_ip):
            try:
                streams = await asyncio.wait_for(
                    asyncio.open_connection(*endpoint, limit=CHUNK), CONNECT_TIMEOUT
                )
            except (TimeoutError, OSError) as err:
                log.info(
                    "endpoint failed", service=self.name, endpoint=_text(endpoint), error=str(err)
                )
                self.balancer.failed(endpoint)
                continue
            self.balancer.connected(endpoint, client_ip)
            return streams
        log.info("no endpoint answered", service=self.name)
        return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then half-close, so request/response protocols that
    shut down their sending side (HTTP/1.0 clients, nc) still get answers."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        with contextlib.suppress(Exception):
            writer.close()


class _Upstream(asyncio.DatagramProtocol):
    """One client's socket towards its endpoint; replies go back through
    the listener's socket so the client sees them come from the service."""

    def __init__(self, listener: UDPListener, client: Any, endpoint: Endpoint) -> None:
        self.listener, self.client, self.endpoint = listener, client, endpoint
        self.transport: asyncio.DatagramTransport | None = None
        self.last = time.monotonic()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.last = time.monotonic()
        if self.listener.transport is not None:
            self.listener.transport.sendto(data, self.client)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: the endpoint is gone; the next datagram
        # of this client opens a session to another one.
        self.listener.balancer.failed(self.endpoint)
        self.listener.drop(self.client)


class UDPListener(asyncio.DatagramProtocol):
    def __init__(self, name: str, host: str, port: int, balancer: ServiceBalancer) -> None:
        self.name, self.host, self.port = name, host, port
        self.balancer = balancer
        self.transport: asyncio.DatagramTransport | None = None
        self.sessions: dict[Any, _Upstream] = {}
        self._opening: dict[Any, list[bytes]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(self.host, self.port), reuse_port=False
        )
        self.port = transport.get_extra_info("sockname")[1]
        self._sweeper = asyncio.create_task(self._sweep())
        return self.port

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for client in list(self.sessions):
            self.drop(client)
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def drop(self, client: Any) -> None:
        session = self.sessions.pop(client, None)
        if session is not None and session.transport is not None:
            session.transport.close()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        session = self.sessions.get(addr)
        if session is not None and session.transport is not None:
            session.last = time.monotonic()
            session.transport.sendto(data)
        elif addr in self._opening:
            self._opening[addr].append(data)
        else:
            self._opening[addr] = [data]
            asyncio.get_running_loop().create_task(self._open(addr))

    async def _open(self, client: Any) -> None:
        loop = asyncio.get_running_loop()
        for endpoint in self.balancer.candidates(str(client[0])):
            try:
                _, session = await loop.create_datagram_endpoint(
                    functools.partial(_Upstream, self, client, endpoint), remote_addr=endpoint
                )
            except OSError:
                self.balancer.failed(endpoint)
                continue
            self.balancer.connected(endpoint, str(client[0]))
            self.sessions[client] = session
            for data in self._opening.pop(client, []):
                if session.transport is not None:
                    session.transport.sendto(data)
            return
        self._opening.pop(client, None)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(UDP_IDLE / 3)
            cutoff = time.monotonic() - UDP_IDLE
            for client, session in list(self.sessions.items()):
                if session.last < cutoff:
                    self.drop(client)


def _text(endpoint: Endpoint) -> str:
    return f"{endpoint[0]}:{endpoint[1]}"


Listener = TCPListener | UDPListener


def make_listener(
    protocol: str, name: str, host: str, port: int, balancer: ServiceBalancer
) -> Listener:
    cls = UDPListener if protocol == "UDP" else TCPListener
    return cls(name, host, port, balancer)
