"""The DNS server against the real in-process API server, queried over UDP
and TCP on loopback; names outside the cluster go to a stub resolver on
loopback that this test runs (nothing leaves the machine)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

from dnslib import RCODE, DNSRecord
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.dns.clusterdns import ClusterDNS, ClusterDNSOptions
from shoal.plugins.dns.server import host_nameservers

from tests.dns.stub import StubUpstream
from tests.integration.helpers import eventually


async def udp_query(port: int, name: str, qtype: str = "A") -> DNSRecord:
    data = DNSRecord.question(name, qtype).pack()
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, data)
        return DNSRecord.parse(await asyncio.wait_for(loop.sock_recv(sock, 4096), 5))
    finally:
        sock.close()


async def tcp_query(port: int, name: str) -> DNSRecord:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = DNSRecord.question(name).pack()
    writer.write(len(data).to_bytes(2, "big") + data)
    size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 5), "big")
    reply = DNSRecord.parse(await reader.readexactly(size))
    writer.close()
    return reply


def addresses(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr)


@contextlib.asynccontextmanager
async def cluster_dns(client: Client) -> AsyncIterator[tuple[ClusterDNS, StubUpstream]]:
    loop = asyncio.get_running_loop()
    transport, stub = await loop.create_datagram_endpoint(StubUpstream, local_addr=("127.0.0.1", 0))
    upstream = ("127.0.0.1", transport.get_extra_info("sockname")[1])
    dns = ClusterDNS(
        client, ClusterDNSOptions(port=0, addresses=["127.0.0.1"], upstreams=[upstream])
    )
    await dns.start()
    try:
        yield dns, stub
    finally:
        await dns.stop()
        transport.close()


async def create_service(client: Client, name: str, namespace: str = "default") -> Any:
    with contextlib.suppress(Exception):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        await client.create(from_dict(body))
    return await client.create(
        from_dict(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"ports": [{"name": "http", "port": 80}]},
            }
        )
    )


async def test_answers_follow_services_at_once(shoal_client: Client) -> None:
    async with cluster_dns(shoal_client) as (dns, _):
        name = "web.default.svc.cluster.local"
        assert (await udp_query(dns.port, name)).header.rcode == RCODE.NXDOMAIN
        svc = await create_service(shoal_client, "web")

        async def resolved() -> bool:
            return addresses(await udp_query(dns.port, name)) == [svc.spec.cluster_ip]

        await eventually(resolved)
        assert addresses(await tcp_query(dns.port, name)) == [svc.spec.cluster_ip]
        srv = await udp_query(dns.port, "_http._tcp." + name, "SRV")
        assert [rr.rdata.port for rr in srv.rr] == [80]
        await shoal_client.delete("Service", "web", "default")

        async def gone() -> bool:
            return (await udp_query(dns.port, name)).header.rcode == RCODE.NXDOMAIN

        await eventually(gone)


async def test_other_namespaces_resolve(shoal_client: Client) -> None:
    async with cluster_dns(shoal_client) as (dns, _):
        svc = await create_service(shoal_client, "db", "other")

        async def resolved() -> bool:
            reply = await udp_query(dns.port, "db.other.svc.cluster.local")
            return addresses(reply) == [svc.spec.cluster_ip]

        await eventually(resolved)


async def test_other_names_are_forwarded_upstream(shoal_client: Client) -> None:
    async with cluster_dns(shoal_client) as (dns, stub):
        reply = await udp_query(dns.port, "example.org")
        assert addresses(reply) == ["192.0.2.1"]
        assert stub.asked == ["example.org."]


async def test_tcp_queries_are_forwarded_over_tcp(shoal_client: Client) -> None:
    stub = StubUpstream()
    upstream = await asyncio.start_server(stub.serve_tcp, "127.0.0.1", 0)
    port = upstream.sockets[0].getsockname()[1]
    options = ClusterDNSOptions(port=0, addresses=["127.0.0.1"], upstreams=[("127.0.0.1", port)])
    dns = ClusterDNS(shoal_client, options)
    await dns.start()
    try:
        assert addresses(await tcp_query(dns.port, "example.org")) == ["192.0.2.1"]
        assert stub.asked == ["example.org."]
    finally:
        await dns.stop()
        upstream.close()


async def test_no_upstream_is_servfail(shoal_client: Client) -> None:
    dns = ClusterDNS(shoal_client, ClusterDNSOptions(port=0, addresses=["127.0.0.1"], upstreams=[]))
    await dns.start()
    try:
        reply = await udp_query(dns.port, "example.org")
        assert reply.header.rcode == RCODE.SERVFAIL
    finally:
        await dns.stop()


async def test_garbage_gets_no_answer_and_the_server_goes_on(shoal_client: Client) -> None:
    async with cluster_dns(shoal_client) as (dns, _):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"\x00\x01garbage", ("127.0.0.1", dns.port))
        sock.close()
        reply = await udp_query(dns.port, "nope.default.svc.cluster.local")
        assert reply.header.rcode == RCODE.NXDOMAIN


def test_host_nameservers_leave_out_our_own(tmp_path: Any) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example\nnameserver 172.17.0.1\nnameserver 10.0.0.2\n# x\n")
    assert host_nameservers(conf, exclude=["172.17.0.1"]) == ["10.0.0.2"]


async def test_a_large_answer_is_truncated_over_udp_and_whole_over_tcp(
    shoal_client: Client,
) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "many"},
        "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 80}]},
    }
    await shoal_client.create(from_dict(body))
    ips = [f"172.30.0.{i}" for i in range(1, 61)]  # 60 A records: over 512 bytes
    subset = {"addresses": [{"ip": ip} for ip in ips], "ports": [{"name": "http", "port": 80}]}
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "many"},
        "subsets": [subset],
    }
    await shoal_client.create(from_dict(endpoints))
    name = "many.default.svc.cluster.local"
    async with cluster_dns(shoal_client) as (dns, _):

        async def truncated() -> bool:
            reply = await udp_query(dns.port, name)
            return bool(reply.header.tc) and not reply.rr

        await eventually(truncated)
        assert addresses(await tcp_query(dns.port, name)) == sorted(ips)
