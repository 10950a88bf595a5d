"""What a pod's /etc/resolv.conf holds, by ``dnsPolicy`` (the kubelet's
``dns.Configurer``):

* ``ClusterFirst`` (the default): the cluster DNS server, the search path
  ``<ns>.svc.<zone> svc.<zone> <zone>`` and ``ndots:5``; a pod on the host
  network gets ``Default`` instead, and so does every pod when the node
  runs no cluster DNS;
* ``ClusterFirstWithHostNet``: ``ClusterFirst``, host network or not;
* ``Default``: the node's resolv.conf (left to the engine, which copies it,
  unless ``dnsConfig`` adds to it);
* ``None``: only what ``dnsConfig`` says.

``dnsConfig`` adds to the first three: nameservers and searches appended
(duplicates dropped), options replacing those of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NDOTS = "ndots:5"


@dataclass
class DNSSettings:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def pod_dns(pod: Any, cluster_dns: list[str], zone: str) -> DNSSettings:
    """``cluster_dns``: the addresses of the DNS server the pod reaches
    (empty: the node runs none)."""
    spec = pod.spec
    policy = spec.dns_policy or "ClusterFirst"
    if policy == "None":
        return _with_config(DNSSettings(), spec)
    cluster = policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.host_network
    )
    if not cluster or not cluster_dns:
        if spec.HasField("dns_config"):  # the engine's copy would lose the additions
            return _with_config(host_resolv_conf(), spec)
        return DNSSettings()  # the engine copies the node's resolv.conf
    ns = pod.metadata.namespace
    settings = DNSSettings(list(cluster_dns), [f"{ns}.svc.{zone}", f"svc.{zone}", zone], [NDOTS])
    return _with_config(settings, spec)


def host_resolv_conf(path: Path = Path("/etc/resolv.conf")) -> DNSSettings:
    settings = DNSSettings()
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return settings
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        if fields[0] == "nameserver":
            settings.servers.append(fields[1])
        elif fields[0] in ("search", "domain"):
            settings.searches = fields[1:]  # the last one wins, as in resolv.conf(5)
        elif fields[0] == "options":
            settings.options += fields[1:]
    return settings


def _with_config(settings: DNSSettings, spec: Any) -> DNSSettings:
    if not spec.HasField("dns_config"):
        return settings
    config = spec.dns_config
    servers = _unique([*settings.servers, *config.nameservers])
    searches = _unique([*settings.searches, *config.searches])
    options = {o.split(":", 1)[0]: o for o in settings.options}
    for option in config.options:
        options[option.name] = (
            f"{option.name}:{option.value}" if option.HasField("value") else option.name
        )
    return DNSSettings(servers, searches, list(options.values()))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
