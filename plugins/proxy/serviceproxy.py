"""The built-in service proxies, registered like any third-party one:
``userspace`` (an asyncio TCP/UDP proxy, changes nothing on the host) and
``iptables`` (the same proxy, plus NAT rules that make ClusterIPs reachable
from the host and its containers; needs root)."""

from __future__ import annotations

from typing import Any

from shoal import hookimpl
from shoal.plugins.proxy.proxier import ServiceProxy
from shoal.plugins.proxy.rules import unavailable_reason
from shoal.registry import Registry

MODES = ("userspace", "iptables")


def userspace_proxy(client: Any, options: dict[str, Any]) -> ServiceProxy:
    return ServiceProxy(client, {**options, "mode": "userspace"})


def iptables_proxy(client: Any, options: dict[str, Any]) -> ServiceProxy:
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"the iptables proxy mode cannot run here: {reason}")
    return ServiceProxy(client, {**options, "mode": "iptables"})


def auto_mode() -> str:
    """``iptables`` where the host's rules may be changed, else ``userspace``."""
    return "iptables" if unavailable_reason() is None else "userspace"


@hookimpl
def register_proxies(registry: Registry[Any]) -> None:
    registry.register("userspace", userspace_proxy)
    registry.register("iptables", iptables_proxy)
