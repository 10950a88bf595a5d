"""Cluster DNS on Docker and Podman: an agent with ``cluster_dns`` serves
the pods' bridge address, and a busybox pod resolves Services by short,
namespaced and full names, across namespaces, with nslookup (the pod's
own resolver and search path), reading the search path and ndots in its
/etc/resolv.conf; SRV, PTR, headless Services and pod subdomains from inside
a container; dnsPolicy None and Default. Queries go only to the agent's DNS server, which
forwards names outside the zone to a stub on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from shoal.manifest import from_dict

from tests.dns.stub import start_stub
from tests.e2e.agents import E2ENode, busybox_pod, exec_in, start_node, stop_node, watch_pod
from tests.e2e.test_agent_engines import SLEEP, running
from tests.integration.helpers import eventually

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def cluster(engine: str, node_name: str, tmp_path: Path) -> AsyncIterator[E2ENode]:
    transport, _, upstream = await start_stub()
    node = await start_node(
        engine,
        node_name,
        tmp_path,
        cluster_dns=True,
        cluster_dns_upstreams=[upstream],
    )
    try:
        yield node
    finally:
        await stop_node(node)
        transport.close()


async def _service(node: E2ENode, name: str, namespace: str) -> Any:
    if namespace != "default":
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        await node.client.create(from_dict(ns))
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"name": "http", "port": 80}]},
    }
    return await node.client.create(from_dict(body))


async def _sh(node: E2ENode, pod: str, script: str) -> tuple[int, str]:
    code, out, err = await exec_in(node.streams, pod, "main", ["sh", "-c", script])
    return code, (out + err).decode(errors="replace")


async def test_pods_resolve_services_by_name(cluster: E2ENode) -> None:
    web = await _service(cluster, "web", "default")
    other = await _service(cluster, "web", "other")
    await cluster.client.create(busybox_pod("dns", cluster.node, {"main": SLEEP}))
    await watch_pod(cluster.client, "dns", running, timeout=60)

    code, conf = await _sh(cluster, "dns", "cat /etc/resolv.conf")
    assert code == 0, conf
    gateway = cluster.agent.pod_dns.servers
    assert gateway and f"nameserver {gateway[0]}" in conf, conf
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in conf, conf
    assert "ndots:5" in conf, conf

    for name, ip in (
        ("web", web.spec.cluster_ip),
        ("web.other", other.spec.cluster_ip),
        ("web.default.svc.cluster.local", web.spec.cluster_ip),
        ("web.other.svc.cluster.local", other.spec.cluster_ip),
    ):
        # busybox's nslookup asks every search suffix and exits 1 when any of
        # them is NXDOMAIN, even after an answer: read the answer.
        _, out = await _sh(cluster, "dns", f"nslookup {name}")
        assert f"Address: {ip}" in out, f"nslookup {name}: {out}"
    _, out = await _sh(cluster, "dns", "nslookup nope.default.svc.cluster.local")
    assert "NXDOMAIN" in out and "Name:" not in out, out


async def test_dns_policy_none_takes_dns_config(cluster: E2ENode) -> None:
    config = {"nameservers": ["192.0.2.53"], "searches": ["corp.example"]}
    pod = busybox_pod("none", cluster.node, {"main": SLEEP}, dnsPolicy="None", dnsConfig=config)
    await cluster.client.create(pod)
    await watch_pod(cluster.client, "none", running, timeout=60)
    code, conf = await _sh(cluster, "none", "cat /etc/resolv.conf")
    assert code == 0 and "nameserver 192.0.2.53" in conf and "corp.example" in conf, conf
    assert "ndots" not in conf, conf


async def _pod_ip(node: E2ENode, name: str) -> str:
    pod, _ = await watch_pod(node.client, name, running, timeout=60)
    return str(pod.status.pod_ip)


async def test_srv_ptr_headless_and_pod_subdomain_from_a_pod(cluster: E2ENode) -> None:
    """The records besides A, asked from inside a container: SRV of a named
    port, PTR of a ClusterIP, a headless Service's ready endpoints (kept by
    the real endpoints controller) and a pod's hostname under its subdomain."""
    from shoal.controlplane import ControlPlane

    web = await _service(cluster, "web", "default")
    headless = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
        "spec": {"clusterIP": "None", "selector": {"app": "db"},
                 "ports": [{"name": "tcp", "port": 5432}]},
    }  # fmt: skip
    await cluster.client.create(from_dict(headless))
    db = busybox_pod("db-0", cluster.node, {"main": SLEEP}, hostname="db-0", subdomain="db")
    db.metadata.labels["app"] = "db"
    await cluster.client.create(db)
    await cluster.client.create(busybox_pod("ask", cluster.node, {"main": SLEEP}))
    control_plane = ControlPlane(cluster.client, ["endpoints"], leader_elect=False)
    control_plane.start()
    try:
        db_ip = await _pod_ip(cluster, "db-0")
        await _pod_ip(cluster, "ask")

        async def endpoints_ready() -> bool:
            ep = await cluster.client.get("endpoints", "db", "default")
            return any(a.ip == db_ip for s in ep.subsets for a in s.addresses)

        await eventually(endpoints_ready, timeout=30)
        _, out = await _sh(
            cluster, "ask", "nslookup -type=SRV _http._tcp.web.default.svc.cluster.local"
        )
        assert "service = 0 100 80 web.default.svc.cluster.local" in out, out
        _, out = await _sh(cluster, "ask", f"nslookup {web.spec.cluster_ip}")
        reverse = ".".join(reversed(web.spec.cluster_ip.split("."))) + ".in-addr.arpa"
        assert f"{reverse}\tname = web.default.svc.cluster.local" in out, out
        for name in ("db.default.svc.cluster.local", "db-0.db.default.svc.cluster.local"):
            _, out = await _sh(cluster, "ask", f"nslookup {name}")
            assert f"Address: {db_ip}" in out, f"nslookup {name}: {out}"
    finally:
        await control_plane.stop()


async def test_dns_policy_default_uses_the_nodes_resolvers(cluster: E2ENode) -> None:
    pod = busybox_pod("host", cluster.node, {"main": SLEEP}, dnsPolicy="Default")
    await cluster.client.create(pod)
    await watch_pod(cluster.client, "host", running, timeout=60)
    code, conf = await _sh(cluster, "host", "cat /etc/resolv.conf")
    assert code == 0, conf
    assert "svc.cluster.local" not in conf and "ndots:5" not in conf, conf
    gateway = cluster.agent.pod_dns.servers
    assert f"nameserver {gateway[0]}" not in conf, conf
