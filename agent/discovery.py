"""Reaching a Service by name from a container: hosts entries for every
Service of the pod's namespace with a ClusterIP, under the names cluster
DNS would answer (``redis``, ``redis.default``, ``redis.default.svc``,
``redis.default.svc.cluster.local``).

Like the ``<NAME>_SERVICE_HOST`` variables, entries are written when the
pod's sandbox starts: a Service created later is not in them until the pod
is recreated. Headless Services have no single address and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CLUSTER_DOMAIN = "cluster.local"


def service_hosts(services: Iterable[Any], namespace: str) -> dict[str, str]:
    hosts: dict[str, str] = {}
    for svc in services:
        ip, name = svc.spec.cluster_ip, svc.metadata.name
        if svc.metadata.namespace != namespace or not ip or ip == "None":
            continue
        for host in (
            name,
            f"{name}.{namespace}",
            f"{name}.{namespace}.svc",
            f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}",
        ):
            hosts[host] = ip
    return hosts
