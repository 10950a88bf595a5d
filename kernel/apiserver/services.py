"""ClusterIP and NodePort allocation for Services, as Kubernetes' service
REST storage does it: allocate on create, keep on update, release when the
Service leaves the store.

The allocator lives in the API server's memory and is rebuilt from the
stored Services when the server starts, so a restart neither loses nor
doubles an allocation. Every reservation is synchronous on the event loop,
so two concurrent creates can never be handed the same address or port.
(Several API servers sharing one etcd would each keep their own view; that
setup wants a stored allocation bitmap, which shoal does not have yet.)
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shoal import errors

DEFAULT_CLUSTER_IP_RANGE = "10.96.0.0/12"
DEFAULT_NODE_PORT_RANGE = "30000-32767"
HEADLESS = "None"
Causes = list[tuple[str, str]]


def parse_cluster_ip_range(text: str) -> ipaddress.IPv4Network:
    """``10.96.0.0/12``; ValueError with a readable reason otherwise."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as err:
        raise ValueError(f'"{text}" is not a CIDR such as 10.96.0.0/12: {err}') from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError(f'"{text}": only IPv4 service ranges are supported')
    if net.num_addresses < 4:
        raise ValueError(f'"{text}" is too small: it must hold at least 4 addresses (/30)')
    return net


def parse_port_range(text: str) -> tuple[int, int]:
    """``30000-32767`` (a single port ``N`` is ``N-N``)."""
    low, sep, high = text.strip().partition("-")
    try:
        first, last = int(low), int(high if sep else low)
    except ValueError:
        raise ValueError(f'"{text}" is not a port range such as 30000-32767') from None
    if not 1 <= first <= last <= 65535:
        raise ValueError(f'"{text}": ports must be 1-65535, the first no larger than the last')
    return first, last


def kubernetes_service_ip(network: ipaddress.IPv4Network | str) -> str:
    """The first address of a service range (``10.96.0.1`` of ``10.96.0.0/12``)."""
    net = parse_cluster_ip_range(network) if isinstance(network, str) else network
    return str(net.network_address + 1)


class Pool:
    """A set of integers handed out at most once each, searched from a
    rotating cursor so a released value is not reused at once."""

    def __init__(self, first: int, last: int, reserved: Iterable[int] = ()) -> None:
        self.first, self.last = first, last
        self.used: set[int] = set()
        # Only ever taken by asking for them by value, never handed out.
        self.reserved = frozenset(reserved)
        self._cursor = first

    def __contains__(self, value: int) -> bool:
        return self.first <= value <= self.last

    def take(self, value: int) -> bool:
        if value not in self or value in self.used:
            return False
        self.used.add(value)
        return True

    def take_any(self) -> int | None:
        size = self.last - self.first + 1
        for step in range(size):
            value = self.first + (self._cursor - self.first + step) % size
            if value not in self.used and value not in self.reserved:
                self.used.add(value)
                self._cursor = value + 1 if value < self.last else self.first
                return value
        return None

    def release(self, value: int) -> None:
        self.used.discard(value)


@dataclass
class Allocation:
    """What one write reserved (``added``) and will free once stored
    (``removed``): ("ip" | "port", value) pairs."""

    added: list[tuple[str, int]] = field(default_factory=list)
    removed: list[tuple[str, int]] = field(default_factory=list)


class ServiceAllocator:
    def __init__(
        self,
        cluster_ip_range: str = DEFAULT_CLUSTER_IP_RANGE,
        node_port_range: str = DEFAULT_NODE_PORT_RANGE,
    ) -> None:
        self.network = parse_cluster_ip_range(cluster_ip_range)
        base = int(self.network.network_address)
        # The network and broadcast addresses are never handed out; the first
        # address is kept for the `kubernetes` Service (10.96.0.1), as
        # Kubernetes does: only asking for it by value gets it.
        self.ips = Pool(base + 1, base + self.network.num_addresses - 2, reserved=(base + 1,))
        self.node_port_range = parse_port_range(node_port_range)
        self.ports = Pool(*self.node_port_range)

    @property
    def kubernetes_ip(self) -> str:
        """The first address of the range: the `kubernetes` Service's ClusterIP."""
        return kubernetes_service_ip(self.network)

    @property
    def port_range_text(self) -> str:
        return f"{self.ports.first}-{self.ports.last}"

    # -- restart -------------------------------------------------------------

    def restore(self, services: Iterable[Any]) -> None:
        """Mark what the stored Services already hold (on server start)."""
        for svc in services:
            for pool, value in _held(svc):
                (self.ips if pool == "ip" else self.ports).take(value)

    # -- writes --------------------------------------------------------------

    def reserve_create(self, svc: Any) -> Allocation:
        """Fill in and reserve the clusterIP and node ports of a new Service;
        InvalidError naming the field when a requested one cannot be had."""
        return self._reserve(None, svc)

    def reserve_update(self, old: Any, new: Any) -> Allocation:
        """Carry the stored allocations over to ``new`` where the client left
        them out, and reserve what the update newly asks for."""
        _carry_over(old, new)
        return self._reserve(old, new)

    def commit(self, allocation: Allocation) -> None:
        for pool, value in allocation.removed:
            self._pool(pool).release(value)

    def rollback(self, allocation: Allocation) -> None:
        for pool, value in allocation.added:
            self._pool(pool).release(value)

    def release(self, svc: Any) -> None:
        """The Service is gone from the store: free what it held."""
        for pool, value in _held(svc):
            self._pool(pool).release(value)

    # -- inside --------------------------------------------------------------

    def _pool(self, name: str) -> Pool:
        return self.ips if name == "ip" else self.ports

    def _reserve(self, old: Any | None, svc: Any) -> Allocation:
        kept = set(_held(old)) if old is not None else set()
        allocation = Allocation()
        causes: Causes = []
        try:
            causes += self._cluster_ip(svc, kept, allocation)
            causes += self._node_ports(svc, kept, allocation)
        except Exception:
            self.rollback(allocation)
            raise
        if causes:
            self.rollback(allocation)
            raise errors.invalid("Service", svc.metadata.name, causes)
        allocation.removed = sorted(kept - set(_held(svc)))
        return allocation

    def _cluster_ip(self, svc: Any, kept: set[tuple[str, int]], alloc: Allocation) -> Causes:
        spec = svc.spec
        if spec.type == "ExternalName":
            return []
        if spec.cluster_ip == HEADLESS:
            _set_cluster_ips(spec, HEADLESS)
            return []
        if not spec.cluster_ip:
            value = self.ips.take_any()
            if value is None:
                return [("spec.clusterIP", f"Internal error: range {self.network} is full")]
            alloc.added.append(("ip", value))
            _set_cluster_ips(spec, str(ipaddress.IPv4Address(value)))
            return []
        causes = self._requested_ip(spec.cluster_ip, kept, alloc)
        if not causes:
            _set_cluster_ips(spec, spec.cluster_ip)
        return causes

    def _requested_ip(self, text: str, kept: set[tuple[str, int]], alloc: Allocation) -> Causes:
        try:
            value = int(ipaddress.IPv4Address(text))
        except ValueError:
            return [("spec.clusterIP", f'Invalid value: "{text}": must be a valid IP address')]
        if ("ip", value) in kept:
            return []
        if value not in self.ips:
            return [
                (
                    "spec.clusterIP",
                    f'Invalid value: "{text}": provided IP is not in the valid range. '
                    f"The range of valid IPs is {self.network}",
                )
            ]
        if not self.ips.take(value):
            return [
                ("spec.clusterIP", f'Invalid value: "{text}": provided IP is already allocated')
            ]
        alloc.added.append(("ip", value))
        return []

    def _node_ports(self, svc: Any, kept: set[tuple[str, int]], alloc: Allocation) -> Causes:
        spec = svc.spec
        causes: Causes = []
        wants = spec.type in ("NodePort", "LoadBalancer")
        if wants and spec.cluster_ip == HEADLESS:
            return [
                (
                    "spec.clusterIP",
                    f"Invalid value: \"None\": may not be set to 'None' for {spec.type} services",
                )
            ]
        mine: set[int] = set()  # one Service may use a port for TCP and UDP alike
        for i, port in enumerate(spec.ports):
            path = f"spec.ports[{i}].nodePort"
            if not wants:
                if port.node_port:
                    causes.append(
                        (path, f"Forbidden: may not be used when `type` is '{spec.type}'")
                    )
                continue
            causes += self._node_port(port, path, kept, mine, alloc)
        return causes

    def _node_port(
        self, port: Any, path: str, kept: set[tuple[str, int]], mine: set[int], alloc: Allocation
    ) -> Causes:
        if not port.node_port:
            value = self.ports.take_any()
            if value is None:
                return [(path, f"Internal error: node port range {self.port_range_text} is full")]
            alloc.added.append(("port", value))
            port.node_port = value
        elif ("port", port.node_port) in kept or port.node_port in mine:
            pass
        elif port.node_port not in self.ports:
            return [
                (
                    path,
                    f"Invalid value: {port.node_port}: provided port is not in the valid range. "
                    f"The range of valid ports is {self.port_range_text}",
                )
            ]
        elif not self.ports.take(port.node_port):
            return [(path, f"Invalid value: {port.node_port}: provided port is already allocated")]
        else:
            alloc.added.append(("port", port.node_port))
        mine.add(port.node_port)
        return []


def _set_cluster_ips(spec: Any, ip: str) -> None:
    spec.cluster_ip = ip
    del spec.cluster_ips[:]
    spec.cluster_ips.append(ip)


def _held(svc: Any) -> list[tuple[str, int]]:
    """The ("ip", n) and ("port", n) a stored Service holds."""
    spec = svc.spec
    held: list[tuple[str, int]] = []
    if spec.cluster_ip and spec.cluster_ip != HEADLESS:
        with contextlib.suppress(ValueError):
            held.append(("ip", int(ipaddress.IPv4Address(spec.cluster_ip))))
    held += [("port", p.node_port) for p in spec.ports if p.node_port]
    return sorted(set(held))


def _carry_over(old: Any, new: Any) -> None:
    """An update that leaves out clusterIP or a nodePort keeps the stored one
    (``kubectl replace`` of a manifest without them must not re-allocate)."""
    if not new.spec.cluster_ip and new.spec.type != "ExternalName":
        new.spec.cluster_ip = old.spec.cluster_ip
    if new.spec.type not in ("NodePort", "LoadBalancer"):
        return
    before = {(p.port, p.protocol): p.node_port for p in old.spec.ports if p.node_port}
    by_name = {p.name: p.node_port for p in old.spec.ports if p.node_port and p.name}
    for port in new.spec.ports:
        if not port.node_port:
            port.node_port = before.get((port.port, port.protocol)) or by_name.get(port.name, 0)
