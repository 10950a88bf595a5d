"""The names cluster DNS answers, built from Services and Endpoints as
Kubernetes' DNS specification lays them out:

* ``<svc>.<ns>.svc.<zone>``: A/AAAA the ClusterIP(s); for a headless
  Service, the ready endpoints' addresses;
* ``_<port>._<proto>.<svc>.<ns>.svc.<zone>``: SRV for each named port
  (targets: the Service's name, or each endpoint's name when headless);
* ``<hostname>.<svc>.<ns>.svc.<zone>``: the address of an endpoint with a
  ``hostname`` (pods with ``hostname`` and ``subdomain``), and for headless
  Services ``<a-b-c-d>.<svc>...`` for the others;
* PTR for every ClusterIP (``d.c.b.a.in-addr.arpa``).

A name is stored lower-case and without the trailing dot.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ZONE = "cluster.local"


@dataclass(frozen=True)
class Srv:
    port: int
    target: str


@dataclass
class Names:
    """Every record of the cluster: name -> addresses, SRV targets, PTR."""

    addresses: dict[str, list[str]] = field(default_factory=dict)
    services: dict[str, list[Srv]] = field(default_factory=dict)
    pointers: dict[str, str] = field(default_factory=dict)
    # Every name that exists (with or without records of the asked type):
    # NODATA for those, NXDOMAIN for the rest.
    known: set[str] = field(default_factory=set)
    service_names: set[str] = field(default_factory=set)  # <svc>.<ns>.svc.<zone>

    def add_address(self, name: str, ip: str) -> None:
        self._know(name)
        found = self.addresses.setdefault(name, [])
        if ip not in found:
            found.append(ip)

    def add_srv(self, name: str, srv: Srv) -> None:
        self._know(name)
        self.services.setdefault(name, []).append(srv)

    def add_pointer(self, ip: str, name: str) -> None:
        reverse = ipaddress.ip_address(ip).reverse_pointer
        self._know(reverse)
        self.pointers[reverse] = name

    def _know(self, name: str) -> None:
        # every parent inside the zone exists too (``ns.svc.zone``)
        parts = name.split(".")
        for i in range(len(parts)):
            self.known.add(".".join(parts[i:]))


def cluster_ips(svc: Any) -> list[str]:
    ips = list(svc.spec.cluster_ips) or [svc.spec.cluster_ip]
    return [ip for ip in ips if ip and ip != "None"]


def is_headless(svc: Any) -> bool:
    return svc.spec.cluster_ip == "None"


def build_names(services: list[Any], endpoints: list[Any], zone: str = DEFAULT_ZONE) -> Names:
    names = Names()
    by_key = {(e.metadata.namespace, e.metadata.name): e for e in endpoints}
    for svc in services:
        m = svc.metadata
        if svc.spec.type == "ExternalName":
            continue
        base = f"{m.name}.{m.namespace}.svc.{zone}".lower()
        names._know(base)
        names.service_names.add(base)
        eps = by_key.get((m.namespace, m.name))
        if is_headless(svc):
            _headless(names, base, svc, eps)
        else:
            for ip in cluster_ips(svc):
                names.add_address(base, ip)
                names.add_pointer(ip, base)
            _hostnames(names, base, eps)
            _ports(names, base, svc)
    return names


def _ready(eps: Any | None) -> list[Any]:
    if eps is None:
        return []
    return [a for subset in eps.subsets for a in subset.addresses]


def _endpoint_name(address: Any, base: str) -> str:
    label = address.hostname or address.ip.replace(".", "-").replace(":", "-")
    return f"{label}.{base}".lower()


def _headless(names: Names, base: str, svc: Any, eps: Any | None) -> None:
    named = {p.name: (p.protocol or "TCP").lower() for p in svc.spec.ports if p.name}
    for name, protocol in named.items():
        names._know(f"_{name}._{protocol}.{base}")
    for subset in eps.subsets if eps is not None else []:
        for address in subset.addresses:
            names.add_address(base, address.ip)
            host = _endpoint_name(address, base)
            names.add_address(host, address.ip)
            # a headless Service's SRV records carry the endpoints' ports
            for port in subset.ports:
                if port.name in named:
                    srv_name = f"_{port.name}._{named[port.name]}.{base}".lower()
                    names.add_srv(srv_name, Srv(port.port, host))


def _hostnames(names: Names, base: str, eps: Any | None) -> None:
    for address in _ready(eps):
        if address.hostname:
            names.add_address(_endpoint_name(address, base), address.ip)


def _ports(names: Names, base: str, svc: Any) -> None:
    for p in svc.spec.ports:
        if not p.name:
            continue  # SRV records exist for named ports only
        protocol = (p.protocol or "TCP").lower()
        names.add_srv(f"_{p.name}._{protocol}.{base}".lower(), Srv(p.port, base))
