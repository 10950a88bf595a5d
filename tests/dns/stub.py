"""A DNS server on loopback standing in for the node's resolvers, so a
test's forwarded queries never leave the machine."""

from __future__ import annotations

import asyncio
from typing import Any

from dnslib import QTYPE, RR, A, DNSRecord


class StubUpstream(asyncio.DatagramProtocol):
    """Answers every A question with 192.0.2.1 (TEST-NET-1), counting them."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(self.answer(data), addr)

    def answer(self, data: bytes) -> bytes:
        query = DNSRecord.parse(data)
        self.asked.append(str(query.q.qname))
        reply = query.reply()
        reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A("192.0.2.1"), ttl=60))
        return bytes(reply.pack())

    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int.from_bytes(await reader.readexactly(2), "big")
        reply = self.answer(await reader.readexactly(size))
        writer.write(len(reply).to_bytes(2, "big") + reply)
        await writer.drain()
        writer.close()


async def start_stub() -> tuple[asyncio.DatagramTransport, StubUpstream, tuple[str, int]]:
    loop = asyncio.get_running_loop()
    transport, stub = await loop.create_datagram_endpoint(StubUpstream, local_addr=("127.0.0.1", 0))
    return transport, stub, ("127.0.0.1", transport.get_extra_info("sockname")[1])
