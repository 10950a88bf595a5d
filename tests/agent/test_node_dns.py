"""The agent's cluster DNS over the fake runtime (given a bridge address on
loopback): the server starts before the node registers, the node carries
the cluster-dns label, and each sandbox gets the resolv.conf of its pod's
dnsPolicy."""

from __future__ import annotations

from typing import Any

from dnslib import DNSRecord
from shoal.apiserver.kube_dns_service import NODE_LABEL
from shoal.client import Client
from shoal.plugins.runtimes.fake import FakeRuntime

from tests.agent.conftest import StartAgent
from tests.dns.test_dns_server import addresses, create_service, udp_query
from tests.integration.helpers import eventually, pod


class BridgedFakeRuntime(FakeRuntime):
    """A fake runtime whose pods' bridge is loopback (PodNetwork)."""

    async def pod_network_gateway(self) -> str:
        return "127.0.0.1"


def sandbox_config(runtime: FakeRuntime, name: str) -> Any:
    for _status, config in runtime.sandboxes.values():
        if config.name == name:
            return config
    return None


async def test_sandboxes_get_the_nodes_dns(start_agent: StartAgent, shoal_client: Client) -> None:
    runtime = BridgedFakeRuntime()
    agent = await start_agent(
        runtime, cluster_dns=True, cluster_dns_port=0, cluster_dns_upstreams=[]
    )
    assert agent.pod_dns.servers == ["127.0.0.1"]
    node = await shoal_client.get("Node", "node-1")
    assert node.metadata.labels[NODE_LABEL] == "true"

    await shoal_client.create(pod("first", node="node-1"))
    await shoal_client.create(pod("host", node="node-1", dnsPolicy="Default"))
    first = await eventually(lambda: sandbox_config(runtime, "first"))
    assert first.dns_servers == ["127.0.0.1"]
    assert first.dns_searches == ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert first.dns_options == ["ndots:5"]
    host = await eventually(lambda: sandbox_config(runtime, "host"))
    assert (host.dns_servers, host.dns_searches, host.dns_options) == ([], [], [])

    svc = await create_service(shoal_client, "web")

    async def answered() -> bool:
        reply: DNSRecord = await udp_query(agent.dns.port, "web.default.svc.cluster.local")
        return addresses(reply) == [svc.spec.cluster_ip]

    await eventually(answered)


async def test_no_bridge_no_dns(start_agent: StartAgent, shoal_client: Client) -> None:
    runtime = FakeRuntime()
    agent = await start_agent(runtime, cluster_dns=True, cluster_dns_port=0)
    assert agent.dns is None and agent.pod_dns.servers == []
    await shoal_client.create(pod("plain", node="node-1"))
    config = await eventually(lambda: sandbox_config(runtime, "plain"))
    assert config.dns_servers == [] and config.dns_options == []
    node = await shoal_client.get("Node", "node-1")
    assert NODE_LABEL not in node.metadata.labels
