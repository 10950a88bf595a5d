"""The DNS server: UDP and TCP listeners on the node's addresses, each
query answered by the :class:`~.resolver.Resolver` or, for names outside
the cluster zone, forwarded to the upstream resolvers (the node's
/etc/resolv.conf nameservers, never the server itself)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import structlog
from dnslib import RCODE, DNSError, DNSRecord
from shoal.plugins.dns.resolver import Resolver

log = structlog.get_logger("dns")

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)  # Linux; older Pythons lack the name
FORWARD_TIMEOUT = 2.0  # seconds per upstream before the next one is tried


def host_nameservers(
    path: Path = Path("/etc/resolv.conf"), exclude: Iterable[str] = ()
) -> list[str]:
    """The ``nameserver`` lines of a resolv.conf, less ``exclude`` (our own
    addresses: forwarding to ourselves would loop)."""
    skip = set(exclude)
    found: list[str] = []
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == "nameserver" and fields[1] not in skip:
                found.append(fields[1])
    return found


class Forwarder:
    """Passes a query's bytes to the upstreams in turn, first answer wins."""

    def __init__(self, upstreams: list[tuple[str, int]], timeout: float = FORWARD_TIMEOUT):
        self.upstreams = upstreams
        self.timeout = timeout

    async def forward(self, data: bytes, tcp: bool = False) -> bytes | None:
        for host, port in self.upstreams:
            try:
                call = _ask_tcp if tcp else _ask_udp
                return await asyncio.wait_for(call(host, port, data), self.timeout)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
                log.debug("upstream failed", upstream=f"{host}:{port}", error=str(err))
        return None


async def _ask_udp(host: str, port: int, data: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[bytes] = loop.create_future()

    class _Once(asyncio.DatagramProtocol):
        def datagram_received(self, got: bytes, addr: Any) -> None:
            if not reply.done():
                reply.set_result(got)

        def error_received(self, exc: Exception) -> None:
            if not reply.done():
                reply.set_exception(exc)

    transport, _ = await loop.create_datagram_endpoint(_Once, remote_addr=(host, port))
    try:
        transport.sendto(data)
        return await reply
    finally:
        transport.close()


async def _ask_tcp(host: str, port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack("!H", len(data)) + data)
        await writer.drain()
        (size,) = struct.unpack("!H", await reader.readexactly(2))
        return await reader.readexactly(size)
    finally:
        writer.close()


class DNSServer:
    def __init__(self, resolver: Resolver, forwarder: Forwarder) -> None:
        self.resolver = resolver
        self.forwarder = forwarder
        self._closers: list[Any] = []
        self.queries = 0

    async def handle(self, data: bytes, tcp: bool = False) -> bytes | None:
        """The reply's bytes, or ``None`` for a packet that is not a query."""
        local = self.answer_locally(data)
        if not isinstance(local, DNSRecord):
            return local
        forwarded = await self.forwarder.forward(data, tcp)
        return forwarded if forwarded is not None else _failure(local, RCODE.SERVFAIL)

    def answer_locally(self, data: bytes) -> bytes | DNSRecord | None:
        """The reply's bytes; the parsed query when it must be forwarded;
        ``None`` for a packet that is not a query. Synchronous, so a UDP
        query for a cluster name costs no task."""
        self.queries += 1
        try:
            query = DNSRecord.parse(data)
        except (DNSError, struct.error, IndexError, ValueError):
            return None
        if not query.questions:
            return _failure(query, RCODE.FORMERR)
        reply = self.resolver.answer(query)
        return bytes(reply.pack()) if reply is not None else query

    async def listen(self, host: str, port: int = 53, *, freebind: bool = False) -> int:
        """Serve UDP and TCP on ``host:port`` (0: a free port, the same for
        both); returns the port. ``freebind``: bind even if ``host`` is not
        (yet) this host's (Podman makes its bridge with the first pod)."""
        for _ in range(9 if port == 0 else 0):
            # a free UDP port may be a taken TCP one: try another
            with contextlib.suppress(OSError):
                return await self._listen(host, port, freebind)
        return await self._listen(host, port, freebind)

    async def _listen(self, host: str, port: int, freebind: bool) -> int:
        loop = asyncio.get_running_loop()
        udp = _socket(host, port, socket.SOCK_DGRAM, freebind)
        transport, _ = await loop.create_datagram_endpoint(lambda: _UDP(self), sock=udp)
        self._closers.append(transport)
        port = transport.get_extra_info("sockname")[1]
        try:
            tcp = _socket(host, port, socket.SOCK_STREAM, freebind)
        except OSError:
            transport.close()
            self._closers.remove(transport)
            raise
        server = await asyncio.start_server(self._tcp_client, sock=tcp)
        self._closers.append(server)
        log.info("cluster DNS listening", address=f"{host}:{port}")
        return int(port)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                reply = await self.handle(await reader.readexactly(size), tcp=True)
                if reply is None:
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        for closer in self._closers:
            closer.close()
        self._closers.clear()


def _socket(host: str, port: int, kind: int, freebind: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:  # (for UDP it would let two servers share)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if freebind:
            sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        sock.bind((host, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _failure(query: DNSRecord, rcode: int) -> bytes:
    reply = query.reply()
    reply.header.rcode = rcode
    return bytes(reply.pack())


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: Any = None
        self._pending: set[asyncio.Task[None]] = set()  # kept from the collector

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        local = self.server.answer_locally(data)
        if not isinstance(local, DNSRecord):
            if local is not None:
                self.transport.sendto(_truncated(local), addr)
            return
        task = asyncio.ensure_future(self._forward(local, data, addr))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _forward(self, query: DNSRecord, data: bytes, addr: Any) -> None:
        reply = await self.server.forwarder.forward(data)
        if reply is None:
            reply = _failure(query, RCODE.SERVFAIL)
        if not self.transport.is_closing():
            self.transport.sendto(_truncated(reply), addr)


def _truncated(reply: bytes) -> bytes:
    """A UDP reply over 512 bytes is cut to its header with TC set, so the
    client asks again over TCP (RFC 1035)."""
    if len(reply) <= 512:
        return reply
    record = DNSRecord.parse(reply)
    record.rr, record.auth, record.ar = [], [], []
    record.header.tc = 1
    return bytes(record.pack())
