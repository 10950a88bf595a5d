"""The proxier: follows Services and Endpoints and keeps, for every service
port, a balancer over its ready endpoints, a *portal* listener (the port
ClusterIP traffic reaches the proxy on) and, for NodePort Services, a
listener on the node's address. In kernel mode the host's NAT rules send
ClusterIP:port to the portal; in plain userspace mode nothing does, so a
ClusterIP is reachable only where something routes it to the portal.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import structlog
from shoal.client import HandlerRegistration, shared_informers
from shoal.plugins.proxy.balancer import Endpoint, ServiceBalancer
from shoal.plugins.proxy.relay import Listener, make_listener
from shoal.plugins.proxy.rules import IptablesRules, Redirect

log = structlog.get_logger("proxy")

DEFAULT_AFFINITY_SECONDS = 10800.0  # Kubernetes' default ClientIP timeout
RETRY = 1.0  # seconds between tries of a port that could not be listened on


@dataclass(frozen=True)
class ServicePort:
    key: str  # namespace/name:portname
    namespace: str
    name: str
    port_name: str
    cluster_ip: str
    port: int
    protocol: str
    node_port: int


def service_ports(services: list[Any]) -> dict[str, ServicePort]:
    """The proxied ports of every Service that has a ClusterIP."""
    ports: dict[str, ServicePort] = {}
    for svc in services:
        ip = svc.spec.cluster_ip
        if not ip or ip == "None" or svc.spec.type == "ExternalName":
            continue
        m = svc.metadata
        for p in svc.spec.ports:
            protocol = p.protocol or "TCP"
            if protocol not in ("TCP", "UDP"):
                continue
            key = f"{m.namespace}/{m.name}:{p.name}"
            ports[key] = ServicePort(
                key, m.namespace, m.name, p.name, ip, p.port, protocol, p.node_port
            )
    return ports


def ready_endpoints(endpoints: Any | None, port: ServicePort) -> list[Endpoint]:
    if endpoints is None:
        return []
    found: list[Endpoint] = []
    for subset in endpoints.subsets:
        for ep_port in subset.ports:
            if ep_port.name == port.port_name and (ep_port.protocol or "TCP") == port.protocol:
                found += [(a.ip, ep_port.port) for a in subset.addresses]
    return sorted(set(found))


def affinity_seconds(svc: Any | None) -> float:
    if svc is None or svc.spec.session_affinity != "ClientIP":
        return 0.0
    config = svc.spec.session_affinity_config.client_ip
    return (
        float(config.timeout_seconds)
        if config.HasField("timeout_seconds")
        else DEFAULT_AFFINITY_SECONDS
    )


class ServiceProxy:
    def __init__(self, client: Any, options: dict[str, Any]) -> None:
        self.mode = options.get("mode", "userspace")
        self.node_ip = options.get("node_ip") or "127.0.0.1"
        # Portals take redirected traffic from every bridge in kernel mode.
        self.portal_host = options.get("portal_host") or (
            "0.0.0.0" if self.mode == "iptables" else self.node_ip
        )
        self.rules = (
            IptablesRules(options.get("node_name", "node")) if self.mode == "iptables" else None
        )
        # Shared with the agent in its process: one Service watch, not two.
        informers = shared_informers(client)
        self.services = informers.for_kind("Service")
        self.endpoints = informers.for_kind("Endpoints")
        self._registrations: list[HandlerRegistration] = []
        self.ports: dict[str, ServicePort] = {}
        self.balancers: dict[str, ServiceBalancer] = {}
        self.portals: dict[str, Listener] = {}
        self.node_ports: dict[str, Listener] = {}
        self.errors: dict[str, str] = {}
        self.synced = asyncio.Event()
        self._dirty = asyncio.Event()

    def portal(self, key: str) -> tuple[str, int] | None:
        """Where the proxy takes ``namespace/name:port`` traffic."""
        listener = self.portals.get(key)
        return (listener.host, listener.port) if listener is not None else None

    async def run(self) -> None:
        for informer in (self.services, self.endpoints):
            registration = informer.add_handler(self._changed, self._updated, self._changed)
            self._registrations.append(registration)
            informer.start()
        try:
            await asyncio.gather(self.services.wait_synced(), self.endpoints.wait_synced())
            if self.rules is not None:
                await self.rules.setup()
            log.info("service proxy started", mode=self.mode, node_ip=self.node_ip)
            self._dirty.set()
            while True:
                # A port another process held a moment ago is tried again.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), RETRY if self.errors else None)
                self._dirty.clear()
                await self.sync()
                self.synced.set()
        finally:
            await self._shutdown()

    def _changed(self, obj: Any) -> None:
        self._dirty.set()

    def _updated(self, old: Any, new: Any) -> None:
        self._dirty.set()

    async def sync(self) -> None:
        desired = service_ports(self.services.list())
        for key in [k for k, p in self.ports.items() if desired.get(k) != p]:
            await self._close(key)
        for key in [k for k in self.errors if k in self.ports]:
            await self._close(key)  # half-open after a failed listen: open it whole again
        for key, port in desired.items():
            if key not in self.ports:
                await self._open(port)
        for key, port in self.ports.items():
            svc = self.services.get(port.name, port.namespace)
            eps = self.endpoints.get(port.name, port.namespace)
            self.balancers[key].update(ready_endpoints(eps, port), affinity_seconds(svc))
        if self.rules is not None:
            await self.rules.sync(self._redirects())

    def _redirects(self) -> list[Redirect]:
        return [
            Redirect(p.cluster_ip, p.port, p.protocol, self.portals[k].port)
            for k, p in self.ports.items()
            if k in self.portals
        ]

    async def _open(self, port: ServicePort) -> None:
        balancer = self.balancers[port.key] = ServiceBalancer()
        self.ports[port.key] = port
        self.errors.pop(port.key, None)
        wanted = [(self.portals, self.portal_host, 0)]
        if port.node_port:
            wanted.append((self.node_ports, self.node_ip, port.node_port))
        for table, host, number in wanted:
            listener = make_listener(port.protocol, port.key, host, number, balancer)
            try:
                await listener.start()
            except OSError as err:
                self.errors[port.key] = f"cannot listen on {host}:{number}/{port.protocol}: {err}"
                log.warning("listen failed", service=port.key, error=self.errors[port.key])
                continue
            table[port.key] = listener
        log.info(
            "proxying",
            service=port.key,
            cluster_ip=port.cluster_ip,
            port=port.port,
            node_port=port.node_port,
        )

    async def _close(self, key: str) -> None:
        self.errors.pop(key, None)
        for table in (self.portals, self.node_ports):
            listener = table.pop(key, None)
            if listener is not None:
                await listener.close()
        self.ports.pop(key, None)
        self.balancers.pop(key, None)

    async def _shutdown(self) -> None:
        for key in list(self.ports):
            await self._close(key)
        if self.rules is not None:
            with contextlib.suppress(Exception):
                await self.rules.cleanup()
        for registration in self._registrations:
            registration.remove()
        for informer in (self.services, self.endpoints):
            await informer.stop()
