"""The node's cluster DNS server (node-local, as NodeLocal DNSCache): the
agent runs :class:`shoal.plugins.dns.clusterdns.ClusterDNS` on the host's
address on the pods' bridge (Docker's docker0, Podman's bridge), which pods
reach whether or not ClusterIPs are routed, and on the node's address; its
pods' resolv.conf names the bridge address."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from shoal.plugins.dns.clusterdns import DNS_PORT, ClusterDNS, ClusterDNSOptions
from shoal.plugins.dns.records import DEFAULT_ZONE
from shoal.plugins.dns.resolvconf import DNSSettings, pod_dns
from shoal.runtime import PodNetwork, Runtime

log = structlog.get_logger("agent")


@dataclass
class PodDNS:
    """What a pod's resolv.conf is made from on this node; ``servers`` is
    empty until (and unless) the node's DNS server listens."""

    zone: str = DEFAULT_ZONE
    servers: list[str] = field(default_factory=list)

    def settings(self, pod: Any) -> DNSSettings:
        return pod_dns(pod, self.servers, self.zone)


async def start_node_dns(
    client: Any,
    runtime: Runtime,
    node_ip: str,
    pod_dns: PodDNS,
    port: int = DNS_PORT,
    upstreams: list[tuple[str, int]] | None = None,
) -> ClusterDNS | None:
    """Start the server and fill ``pod_dns.servers``; None (pods keep the
    engine's resolv.conf) when the runtime has no bridge to listen on."""
    gateway = await runtime.pod_network_gateway() if isinstance(runtime, PodNetwork) else ""
    if not gateway:
        log.warning("cluster DNS not started: the runtime has no pod network bridge")
        return None
    addresses = list(dict.fromkeys([gateway, node_ip]))
    options = ClusterDNSOptions(pod_dns.zone, port, addresses, upstreams)
    dns = ClusterDNS(client, options)
    await dns.start()
    if gateway in dns.listening:
        pod_dns.servers = [gateway]
    return dns
