"""From a pod spec to what the runtime is asked to run: the sandbox config
and each container's config (command, env, mounts, limits, labels)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shoal.agent.env import Lookup, container_env, expand
from shoal.agent.volumes import container_mounts, read_only_volumes
from shoal.quantity import cpu_millis, to_bytes
from shoal.runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerConfig,
    PodSandboxConfig,
    PortMapping,
)


def pod_labels(pod: Any, node: str) -> dict[str, str]:
    """The labels that tie what a runtime runs to its pod, for adoption."""
    m = pod.metadata
    return {
        LABEL_POD_NAME: m.name,
        LABEL_POD_NAMESPACE: m.namespace,
        LABEL_POD_UID: m.uid,
        LABEL_NODE: node,
        LABEL_MANAGED: "true",
    }


def sandbox_config(pod: Any, node: str, attempt: int = 0) -> PodSandboxConfig:
    m, spec = pod.metadata, pod.spec
    ports = [
        PortMapping(p.container_port, p.host_port, p.protocol or "TCP", p.host_ip)
        for c in spec.containers
        for p in c.ports
        if p.host_port
    ]
    return PodSandboxConfig(
        name=m.name,
        namespace=m.namespace,
        uid=m.uid,
        attempt=attempt,
        hostname=spec.hostname or m.name,
        labels={**dict(m.labels), **pod_labels(pod, node)},
        annotations=dict(m.annotations),
        port_mappings=ports,
        host_network=spec.host_network,
        extra_hosts={h: a.ip for a in spec.host_aliases for h in a.hostnames},
    )


def _limits(container: Any) -> tuple[int, int]:
    limits = container.resources.limits
    cpu = cpu_millis(limits["cpu"]) if "cpu" in limits else 0
    memory = to_bytes(limits["memory"]) if "memory" in limits else 0
    return cpu, memory


async def container_config(
    pod: Any,
    container: Any,
    *,
    node: str,
    attempt: int,
    lookup: Lookup,
    services: Iterable[Any],
    volumes: dict[str, str],
    pod_ip: str,
    host_ip: str,
) -> ContainerConfig:
    """ContainerConfigError when an env source or volume is missing."""
    env = await container_env(pod, container, lookup, services, pod_ip, host_ip)
    cpu, memory = _limits(container)
    labels = {
        **pod_labels(pod, node),
        LABEL_CONTAINER_NAME: container.name,
        LABEL_ATTEMPT: str(attempt),
    }
    return ContainerConfig(
        name=container.name,
        image=container.image,
        command=[expand(a, env) for a in container.command],
        args=[expand(a, env) for a in container.args],
        env=env,
        working_dir=container.working_dir,
        mounts=container_mounts(container, volumes, read_only_volumes(pod)),
        labels=labels,
        annotations=dict(pod.metadata.annotations),
        attempt=attempt,
        tty=container.tty,
        stdin=container.stdin,
        cpu_millis=cpu,
        memory_bytes=memory,
    )
