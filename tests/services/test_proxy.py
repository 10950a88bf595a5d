"""The service proxy against the real in-process server, with backends
listening on loopback: TCP and UDP through the portal and the NodePort,
balancing, and an endpoint killed in the middle of the traffic."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from shoal.client import Client
from shoal.manifest import from_dict
from shoal.plugins.proxy.proxier import ServiceProxy
from shoal.plugins.proxy.rules import chain_name, unavailable_reason

from tests.integration.helpers import eventually
from tests.requirements import require


async def tcp_backend(name: str) -> asyncio.Server:
    """Answers each connection with its name and what it read."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(1024)
        writer.write(name.encode() + b":" + data)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


class UDPEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(b"echo:" + data, addr)


async def ask(host: str, port: int, text: bytes = b"hi") -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    writer.write(text)
    writer.write_eof()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def define(
    client: Client,
    name: str,
    ports: list[dict[str, Any]],
    endpoints: list[tuple[str, int]],
    **spec: Any,
) -> Any:
    """A Service without a selector and its hand-made Endpoints."""
    svc = await client.create(
        from_dict(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name},
                "spec": {"ports": ports, **spec},
            }
        )
    )
    await set_endpoints(client, name, ports[0], endpoints)
    return svc


async def set_endpoints(
    client: Client, name: str, port: dict[str, Any], endpoints: list[tuple[str, int]]
) -> None:
    subsets = [
        {
            "addresses": [{"ip": ip}],
            "ports": [
                {
                    "name": port.get("name", ""),
                    "port": number,
                    "protocol": port.get("protocol", "TCP"),
                }
            ],
        }
        for ip, number in endpoints
    ]
    body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name}, "subsets": subsets}
    try:
        current = await client.get("Endpoints", name)
    except Exception:
        await client.create(from_dict(body))
        return
    updated = from_dict(body)
    updated.metadata.resource_version = current.metadata.resource_version
    await client.update(updated)


@contextlib.asynccontextmanager
async def proxy(client: Client, **options: Any) -> AsyncIterator[ServiceProxy]:
    p = ServiceProxy(client, {"node_ip": "127.0.0.1", **options})
    task = asyncio.create_task(p.run())
    try:
        await asyncio.wait_for(p.synced.wait(), 10)
        yield p
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_tcp_balances_and_skips_a_killed_endpoint(shoal_client: Client) -> None:
    backends = {n: await tcp_backend(n) for n in ("a", "b", "c")}
    ends = [("127.0.0.1", s.sockets[0].getsockname()[1]) for s in backends.values()]
    svc = await define(shoal_client, "web", [{"port": 80}], ends, type="NodePort")
    async with proxy(shoal_client) as p:
        await eventually(
            lambda: (
                p.balancers.get("default/web:") and len(p.balancers["default/web:"].endpoints) == 3
            )
        )
        host, port = p.portal("default/web:") or ("", 0)
        answers = [await ask(host, port) for _ in range(6)]
        assert sorted(answers) == sorted([b"a:hi", b"b:hi", b"c:hi"] * 2)
        node_port = svc.spec.ports[0].node_port
        assert (await ask("127.0.0.1", node_port, b"np"))[1:] == b":np"
        # Kill b while traffic flows; its Endpoints entry is still there.
        traffic = [asyncio.create_task(ask(host, port)) for _ in range(20)]
        backends["b"].close()
        await backends["b"].wait_closed()
        after = [await ask(host, port) for _ in range(12)]
        assert {a[:1] for a in after} == {b"a", b"c"}
        done = await asyncio.gather(*traffic, return_exceptions=True)
        assert all(isinstance(d, bytes) and d.endswith(b":hi") for d in done)
    for server in backends.values():
        server.close()


async def test_endpoint_changes_and_service_removal(shoal_client: Client) -> None:
    a, b = await tcp_backend("a"), await tcp_backend("b")
    end_a, end_b = (("127.0.0.1", s.sockets[0].getsockname()[1]) for s in (a, b))
    await define(shoal_client, "api", [{"port": 80}], [end_a])
    async with proxy(shoal_client) as p:
        await eventually(lambda: p.portal("default/api:"))
        host, port = p.portal("default/api:") or ("", 0)
        assert await ask(host, port) == b"a:hi"
        await set_endpoints(shoal_client, "api", {}, [end_b])
        await eventually(lambda: p.balancers["default/api:"].endpoints == [end_b])
        assert await ask(host, port) == b"b:hi"
        await set_endpoints(shoal_client, "api", {}, [])
        await eventually(lambda: p.balancers["default/api:"].endpoints == [])
        try:  # accepted, then closed at once: nothing is behind it
            answer = await ask(host, port)
        except OSError:
            answer = b""
        assert answer == b""
        await shoal_client.delete("Service", "api")
        await eventually(lambda: p.portal("default/api:") is None)
        with pytest.raises(OSError):
            await ask(host, port)
    a.close()
    b.close()


async def test_udp_through_the_portal(shoal_client: Client) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(UDPEcho, local_addr=("127.0.0.1", 0))
    end = ("127.0.0.1", transport.get_extra_info("sockname")[1])
    await define(shoal_client, "dns", [{"name": "dns", "port": 53, "protocol": "UDP"}], [end])
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    class Client_(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            answers.put_nowait(data)

    async with proxy(shoal_client) as p:
        await eventually(
            lambda: p.balancers.get("default/dns:dns") and p.balancers["default/dns:dns"].endpoints
        )
        portal = p.portal("default/dns:dns")
        sender, _ = await loop.create_datagram_endpoint(Client_, remote_addr=portal)
        for word in (b"one", b"two"):
            sender.sendto(word)
            assert await asyncio.wait_for(answers.get(), 5) == b"echo:" + word
        sender.close()
    transport.close()


async def test_iptables_mode_makes_the_cluster_ip_reachable_and_cleans_up(
    shoal_client: Client,
) -> None:
    require("iptables", unavailable_reason())
    backend = await tcp_backend("k")
    end = ("127.0.0.1", backend.sockets[0].getsockname()[1])
    svc = await define(shoal_client, "kern", [{"port": 8080}], [end])
    node = f"test-{uuid.uuid4().hex[:8]}"
    chain = chain_name(node)
    async with proxy(shoal_client, mode="iptables", node_name=node) as p:
        await eventually(
            lambda: p.balancers.get("default/kern:") and p.balancers["default/kern:"].endpoints
        )
        rules = subprocess.run(
            ["iptables", "-t", "nat", "-S", chain], capture_output=True, text=True
        ).stdout
        assert f"-d {svc.spec.cluster_ip}/32" in rules  # else traffic would leave the host
        assert await ask(svc.spec.cluster_ip, 8080) == b"k:hi"
    left = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    assert chain not in left
    backend.close()
    assert os.geteuid() == 0


def held_node_port() -> tuple[int, Any]:
    """A free port in the NodePort range, held open by a socket of our own."""
    import socket

    for number in range(31990, 32767):
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", number))
            holder.listen()
            return number, holder
        except OSError:
            holder.close()
    raise RuntimeError("no free port in the node port range")


async def test_a_node_port_held_elsewhere_is_tried_again(shoal_client: Client) -> None:
    backend = await tcp_backend("a")
    node_port, holder = held_node_port()
    try:
        async with proxy(shoal_client) as p:
            ports = [{"port": 80, "nodePort": node_port}]
            await define(
                shoal_client,
                "held",
                ports,
                [("127.0.0.1", backend.sockets[0].getsockname()[1])],
                type="NodePort",
            )
            await eventually(
                lambda: (
                    "default/held:" in "".join(p.errors)
                    or any(k.startswith("default/held") for k in p.errors)
                )
            )
            holder.close()
            answer = await eventually(lambda: _try_ask("127.0.0.1", node_port), timeout=10)
            assert answer == b"a:hi"
            assert not p.errors
    finally:
        holder.close()
        backend.close()


async def _try_ask(host: str, port: int) -> bytes | None:
    try:
        return await ask(host, port)
    except OSError:
        return None
