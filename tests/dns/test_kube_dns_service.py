"""The kube-dns Service and its Endpoints, kept by the API server's
reconciler against the real in-process server: made, put back when
deleted, and the Endpoints follow the nodes that serve DNS."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from shoal import errors
from shoal.apiserver.kube_dns_service import NODE_LABEL, KubeDNSServiceReconciler
from shoal.client import Client
from shoal.manifest import from_dict

from tests.integration.helpers import eventually


@contextlib.asynccontextmanager
async def reconciler(client: Client) -> AsyncIterator[None]:
    task = asyncio.create_task(KubeDNSServiceReconciler(client, cluster_ip="10.96.0.10").run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def node(client: Client, name: str, ip: str, dns: bool, ready: bool = True) -> None:
    labels = {NODE_LABEL: "true"} if dns else {}
    created = await client.create(
        from_dict(
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}
        )
    )
    created.status.addresses.add(type="InternalIP", address=ip)
    created.status.conditions.add(type="Ready", status="True" if ready else "False")
    await client.update_status(created)


async def get(client: Client, kind: str) -> Any:
    try:
        return await client.get(kind, "kube-dns", "kube-system")
    except errors.NotFoundError:
        return None


def endpoint_ips(ep: Any) -> list[str]:
    return sorted(a.ip for s in ep.subsets for a in s.addresses) if ep is not None else []


async def test_kube_dns_service_and_endpoints(shoal_client: Client) -> None:
    await node(shoal_client, "a", "192.0.2.10", dns=True)
    await node(shoal_client, "b", "192.0.2.11", dns=False)
    await node(shoal_client, "c", "192.0.2.12", dns=True, ready=False)
    async with reconciler(shoal_client):
        svc = await eventually(lambda: get(shoal_client, "Service"))
        assert svc.spec.cluster_ip == "10.96.0.10"
        assert [(p.name, p.port, p.protocol) for p in svc.spec.ports] == [
            ("dns", 53, "UDP"),
            ("dns-tcp", 53, "TCP"),
        ]
        assert svc.metadata.labels["k8s-app"] == "kube-dns"

        async def endpoints(want: list[str]) -> bool:
            return endpoint_ips(await get(shoal_client, "Endpoints")) == want

        await eventually(lambda: endpoints(["192.0.2.10"]))
        await node(shoal_client, "d", "192.0.2.13", dns=True)
        await eventually(lambda: endpoints(["192.0.2.10", "192.0.2.13"]))

        await shoal_client.delete("Service", "kube-dns", "kube-system")
        again = await eventually(lambda: get(shoal_client, "Service"))
        assert again.metadata.uid != svc.metadata.uid


def test_server_and_agent_refuse_bad_dns_flags(tmp_path: Any) -> None:
    from tests.services.test_up import _shoal

    outside = _shoal(tmp_path, "server", "--cluster-dns", "192.168.0.10")
    assert outside.returncode == 2 and "Traceback" not in outside.stderr
    assert "'--cluster-dns': \"192.168.0.10\" is not in the service range" in outside.stderr
    name = _shoal(tmp_path, "server", "--cluster-dns", "dns.example")
    assert name.returncode == 2 and '"dns.example" is not an IP address' in name.stderr
    zone = _shoal(tmp_path, "agent", "--server", "127.0.0.1:1", "--cluster-domain", "Bad_Zone")
    assert zone.returncode == 2 and "--cluster-domain" in zone.stderr
    assert "DNS-1123 subdomain" in zone.stderr and "Traceback" not in zone.stderr
