"""The ``kube-dns`` Service in ``kube-system``, kept by the API server when
``--cluster-dns IP`` is given, as a cluster's DNS add-on provides it:

- the Service: ClusterIP ``IP`` (``10.96.0.10`` under ``shoal up``), ports
  ``dns`` 53/UDP and ``dns-tcp`` 53/TCP, labels ``k8s-app: kube-dns``, no
  selector;
- its Endpoints: port 53 of every Ready node whose agent serves cluster DNS
  (the node label :data:`NODE_LABEL`, set by the agent), at the node's
  InternalIP: the DNS server is node-local, one per agent.

Pods do not need the ClusterIP: each agent points its pods at its own
server's address on the pods' bridge, which they reach whether or not
ClusterIPs are routed. The Service is there for what looks DNS up in the
cluster (``shoal get svc -n kube-system``, tools asking for ``kube-dns``).
Both are put back if deleted or changed, at once and every ``servicekeeper.INTERVAL`` s.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shoal import errors, kinds
from shoal.apiserver.servicekeeper import ServiceKeeper

NAMESPACE, NAME = "kube-system", "kube-dns"
NODE_LABEL = "shoal.io/cluster-dns"  # "true" on nodes whose agent serves DNS
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS"}
PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))
DNS_PORT = 53


def desired_service(cluster_ip: str) -> Any:
    svc = kinds.resolve("Service").message()
    svc.metadata.name, svc.metadata.namespace = NAME, NAMESPACE
    svc.metadata.labels.update(LABELS)
    svc.spec.type = "ClusterIP"
    svc.spec.cluster_ip = cluster_ip
    for name, protocol in PORTS:
        port = svc.spec.ports.add(name=name, port=DNS_PORT, protocol=protocol)
        port.target_port.number_value = DNS_PORT
    return svc


def dns_node_addresses(nodes: list[Any]) -> list[str]:
    """The InternalIPs of the Ready nodes that serve cluster DNS."""
    found = []
    for node in nodes:
        if node.metadata.labels.get(NODE_LABEL) != "true":
            continue
        ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
        ips = [a.address for a in node.status.addresses if a.type == "InternalIP"]
        if ready and ips:
            found.append(ips[0])
    return sorted(set(found))


def desired_endpoints(addresses: list[str]) -> Any:
    ep = kinds.resolve("Endpoints").message()
    ep.metadata.name, ep.metadata.namespace = NAME, NAMESPACE
    ep.metadata.labels.update(LABELS)
    if addresses:
        subset = ep.subsets.add()
        for ip in addresses:
            subset.addresses.add(ip=ip)
        for name, protocol in PORTS:
            subset.ports.add(name=name, port=DNS_PORT, protocol=protocol)
    return ep


class KubeDNSServiceReconciler(ServiceKeeper):
    name = "kube-dns-service"
    namespace, service = NAMESPACE, NAME

    def __init__(self, client: Any, *, cluster_ip: str) -> None:
        super().__init__(client)
        self.cluster_ip = cluster_ip
        self.watch_for_changes(self.informer("Node"))  # the endpoints follow the DNS nodes

    async def before_reconcile(self) -> None:
        ns = kinds.resolve("Namespace").message()
        ns.metadata.name = NAMESPACE
        with contextlib.suppress(errors.AlreadyExistsError):
            await self.client.create(ns)

    def desired_service(self) -> Any:
        return desired_service(self.cluster_ip)

    def desired_endpoints(self) -> Any:
        return desired_endpoints(dns_node_addresses(self.informers["Node"].list()))
