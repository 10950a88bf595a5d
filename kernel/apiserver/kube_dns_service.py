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
Both are put back if deleted or changed, at once and every ``INTERVAL`` s.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from shoal import errors, kinds
from shoal.controller import Controller

log = structlog.get_logger("apiserver")

NAMESPACE, NAME = "kube-system", "kube-dns"
KEY = f"{NAMESPACE}/{NAME}"
NODE_LABEL = "shoal.io/cluster-dns"  # "true" on nodes whose agent serves DNS
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/name": "KubeDNS"}
PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))
DNS_PORT = 53
INTERVAL = 10.0


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


class KubeDNSServiceReconciler(Controller):
    name = "kube-dns-service"
    workers = 1

    def __init__(self, client: Any, *, cluster_ip: str) -> None:
        super().__init__(client)
        self.cluster_ip = cluster_ip
        selector = f"metadata.name={NAME}"
        for kind in ("Service", "Endpoints"):
            informer = self.informer(kind, NAMESPACE, field_selector=selector)
            informer.add_handler(self._poke, lambda _old, _new: self._poke(None), self._poke)
        self.informer("Node").add_handler(
            self._poke, lambda _old, _new: self._poke(None), self._poke
        )

    def _poke(self, _obj: Any) -> None:
        self.queue.add(KEY)

    async def run(self) -> None:
        self.queue.add(KEY)
        await super().run()

    async def reconcile(self, key: Any) -> float | None:
        await self._ensure_namespace()
        await self._ensure_service()
        await self._ensure_endpoints()
        return INTERVAL

    async def _ensure_namespace(self) -> None:
        ns = kinds.resolve("Namespace").message()
        ns.metadata.name = NAMESPACE
        with contextlib.suppress(errors.AlreadyExistsError):
            await self.client.create(ns)

    async def _ensure_service(self) -> None:
        want = desired_service(self.cluster_ip)
        have = self.informers["Service"].get(NAME, NAMESPACE)
        if have is None:
            try:
                await self.client.create(want)
                log.info("created the kube-dns service", cluster_ip=self.cluster_ip)
            except errors.AlreadyExistsError:
                pass  # the informer brings it, and the next pass compares
            return
        if list(have.spec.ports) == list(want.spec.ports):
            return
        new = type(have)()
        new.CopyFrom(have)
        del new.spec.ports[:]
        new.spec.ports.extend(want.spec.ports)
        await self.client.update(new)

    async def _ensure_endpoints(self) -> None:
        want = desired_endpoints(dns_node_addresses(self.informers["Node"].list()))
        have = self.informers["Endpoints"].get(NAME, NAMESPACE)
        if have is None:
            with contextlib.suppress(errors.AlreadyExistsError):
                await self.client.create(want)
            return
        if list(have.subsets) == list(want.subsets):
            return
        new = type(have)()
        new.CopyFrom(have)
        del new.subsets[:]
        new.subsets.extend(want.subsets)
        await self.client.update(new)
