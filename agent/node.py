"""The Node object an agent registers and keeps fresh, and its Lease.

The Node carries capacity, labels, addresses, node info and the Ready
condition; the Lease (``kube-node-lease/<node>``) is the cheap heartbeat the
node lifecycle controller watches, renewed every ``lease_interval``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from shoal import __version__, clock, errors
from shoal.api.v1 import coordination_pb2, core_pb2, meta_pb2

log = structlog.get_logger("agent.node")

LEASE_NAMESPACE = "kube-node-lease"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le"}


@dataclass
class NodeFacts:
    """What the agent says about its node."""

    name: str
    address: str
    cpu: str
    memory: str
    max_pods: int = 110
    runtime_version: str = ""  # "docker://27.1.0"
    stream_port: int = 0
    labels: dict[str, str] = field(default_factory=dict)


def host_capacity() -> tuple[str, str]:
    """(cpu, memory) of this machine as quantities."""
    cpu = str(os.cpu_count() or 1)
    memory = "0"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1])}Ki"
    except OSError:
        pass
    return cpu, memory


def host_address() -> str:
    """The address other machines reach this one on (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def node_info(runtime_version: str) -> core_pb2.NodeSystemInfo:
    return core_pb2.NodeSystemInfo(
        machine_id=_read("/etc/machine-id"),
        boot_id=_read("/proc/sys/kernel/random/boot_id"),
        kernel_version=platform.release(),
        os_image=_os_image(),
        container_runtime_version=runtime_version,
        kubelet_version=f"v{__version__}",
        operating_system=platform.system().lower(),
        architecture=_ARCH.get(platform.machine(), platform.machine()),
    )


def node_status(facts: NodeFacts, info: core_pb2.NodeSystemInfo) -> core_pb2.NodeStatus:
    resources = {"cpu": facts.cpu, "memory": facts.memory, "pods": str(facts.max_pods)}
    status = core_pb2.NodeStatus(capacity=resources, allocatable=resources, node_info=info)
    status.addresses.add(type="InternalIP", address=facts.address)
    status.addresses.add(type="Hostname", address=facts.name)
    status.daemon_endpoints.kubelet_endpoint.port = facts.stream_port
    ready = meta_pb2.Condition(
        type="Ready",
        status="True",
        reason="KubeletReady",
        message="shoal agent is posting ready status",
    )
    ready.last_heartbeat_time.CopyFrom(clock.now_stamp())
    ready.last_transition_time.CopyFrom(ready.last_heartbeat_time)
    status.conditions.append(ready)
    return status


def node_labels(facts: NodeFacts, info: core_pb2.NodeSystemInfo) -> dict[str, str]:
    return {
        "kubernetes.io/hostname": facts.name,
        "kubernetes.io/os": info.operating_system,
        "kubernetes.io/arch": info.architecture,
        **facts.labels,
    }


class NodeRegistration:
    """Creates the Node (or takes over an existing one) and keeps its status
    and Lease fresh."""

    def __init__(self, client: Any, facts: NodeFacts, info: core_pb2.NodeSystemInfo) -> None:
        self.client, self.facts, self.info = client, facts, info
        self._ready_since: Any = None

    async def register(self) -> Any:
        node = core_pb2.Node()
        node.metadata.name = self.facts.name
        node.metadata.labels.update(node_labels(self.facts, self.info))
        try:
            await self.client.create(node)
        except errors.AlreadyExistsError:
            current = await self.client.get("Node", self.facts.name)
            current.metadata.labels.update(node_labels(self.facts, self.info))
            current.metadata.resource_version = ""
            await self.client.update(current)
        return await self.update_status()

    async def update_status(self) -> Any:
        node = await self.client.get("Node", self.facts.name)
        status = node_status(self.facts, self.info)
        ready = status.conditions[0]
        for old in node.status.conditions:
            if old.type == "Ready" and old.status == "True":
                ready.last_transition_time.CopyFrom(old.last_transition_time)
        node.status.CopyFrom(status)
        node.metadata.resource_version = ""
        return await self.client.update_status(node)


def new_lease(node: str, duration: int) -> coordination_pb2.Lease:
    lease = coordination_pb2.Lease()
    lease.metadata.name = node
    lease.metadata.namespace = LEASE_NAMESPACE
    lease.spec.holder_identity = node
    lease.spec.lease_duration_seconds = duration
    lease.spec.renew_time.CopyFrom(clock.now_stamp())
    return lease


async def ensure_lease_namespace(client: Any) -> None:
    ns = core_pb2.Namespace()
    ns.metadata.name = LEASE_NAMESPACE
    with contextlib.suppress(errors.AlreadyExistsError):
        await client.create(ns)


async def renew_lease(client: Any, node: str, duration: int) -> None:
    """Create or renew ``kube-node-lease/<node>`` (the last writer wins: only
    this node writes its lease)."""
    lease = new_lease(node, duration)
    try:
        await client.update(lease)
    except errors.NotFoundError:
        try:
            await client.create(lease)
        except errors.AlreadyExistsError:
            await client.update(lease)


async def heartbeat(
    registration: NodeRegistration,
    *,
    lease_interval: float,
    status_interval: float,
    lease_duration: int = 40,
) -> None:
    """Renew the lease every ``lease_interval``; post the node status every
    ``status_interval``. Failures are logged and retried on the next beat."""
    client, name = registration.client, registration.facts.name
    loop = asyncio.get_running_loop()
    next_status = loop.time() + status_interval
    while True:
        try:
            await renew_lease(client, name, lease_duration)
            if loop.time() >= next_status:
                await registration.update_status()
                next_status = loop.time() + status_interval
        except errors.NotFoundError:
            await registration.register()  # someone deleted our Node
        except (errors.APIError, OSError) as err:
            log.warning("heartbeat failed", node=name, error=str(err))
        await asyncio.sleep(lease_interval)
