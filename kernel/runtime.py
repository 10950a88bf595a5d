"""The runtime contract: what the agent asks of a container engine.

Shaped like Kubernetes' CRI: a pod is a *sandbox* (its network namespace,
held by a pause container on Docker, a native pod on Podman) plus containers
that join it. Runtime plugins (docker, podman, fake) register a factory
through the ``register_runtimes`` hook; the agent calls the returned object
directly. Every method is a coroutine and never blocks the event loop (SDK
calls run in a thread pool).

Everything a runtime creates carries the labels in ``LABEL_*`` so an agent
that restarts can find and adopt what it already runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

LABEL_POD_NAME = "io.kubernetes.pod.name"
LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace"
LABEL_POD_UID = "io.kubernetes.pod.uid"
LABEL_CONTAINER_NAME = "io.kubernetes.container.name"
LABEL_ATTEMPT = "io.shoal.attempt"
LABEL_NODE = "io.shoal.node"
LABEL_MANAGED = "io.shoal.managed"  # "true" on everything shoal runs

ContainerState = Literal["created", "running", "exited", "unknown"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]


class RuntimeFailure(Exception):
    """Base of runtime failures; ``reason`` is the Kubernetes-style reason word."""

    reason = "RuntimeError"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason:
            self.reason = reason


class ImageError(RuntimeFailure):
    """``ErrImageNeverPull``, ``ErrImagePull``, ``InvalidImageName``..."""

    reason = "ErrImagePull"


class ContainerNotFound(RuntimeFailure):
    reason = "NotFound"


def never_pull_error(image: str) -> ImageError:
    """What ``ensure_image`` raises for an absent image under pull policy
    Never; every runtime words it the same, since people read it in events."""
    return ImageError(
        f'image "{image}" not present and pull policy is Never', reason="ErrImageNeverPull"
    )


@dataclass
class PortMapping:
    container_port: int
    host_port: int = 0
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass
class Mount:
    host_path: str
    container_path: str
    read_only: bool = False


@dataclass
class PodSandboxConfig:
    name: str
    namespace: str
    uid: str
    attempt: int = 0
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    port_mappings: list[PortMapping] = field(default_factory=list)
    host_network: bool = False
    dns_servers: list[str] = field(default_factory=list)
    dns_searches: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)  # resolv.conf's: ndots:5
    extra_hosts: dict[str, str] = field(default_factory=dict)  # hostname -> ip


@dataclass
class ContainerConfig:
    name: str
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    attempt: int = 0
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False  # the first attach that closes stdin ends the process's stdin
    cpu_millis: int = 0  # limit; 0: none
    memory_bytes: int = 0  # limit; 0: none


@dataclass
class PodSandboxStatus:
    id: str
    name: str
    namespace: str
    uid: str
    state: Literal["ready", "notready"]
    ip: str = ""
    created_at: float = 0.0
    attempt: int = 0
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerStatus:
    id: str
    name: str
    sandbox_id: str
    state: ContainerState
    image: str = ""
    image_id: str = ""
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    reason: str = ""  # "Completed", "Error", "OOMKilled"
    message: str = ""
    attempt: int = 0
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageInfo:
    id: str
    tags: list[str]
    size: int = 0


@dataclass
class ExecResult:
    exit_code: int
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass
class ResourceUsage:
    """CPU and memory read at one moment, as CRI's ContainerStats: the
    resource metrics API (``kubectl top``) is made from two of these."""

    timestamp_ns: int  # when read, nanoseconds since the epoch
    cpu_usage_core_nanoseconds: int  # cumulative CPU time, all cores
    memory_working_set_bytes: int  # usage minus inactive file pages


@runtime_checkable
class ExecSession(Protocol):
    """An interactive exec (or attach): write stdin, read output chunks,
    resize a tty. For an attach, ``wait`` returns once the output ended."""

    async def write(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    def output(self) -> AsyncIterator[tuple[Literal["stdout", "stderr"], bytes]]: ...
    async def resize(self, width: int, height: int) -> None: ...
    async def wait(self) -> int: ...  # the exit code


@runtime_checkable
class PodNetwork(Protocol):
    """A runtime whose pods sit on a bridge of the host (Docker, Podman):
    the host's address on it is where pods reach a server of the node, such
    as cluster DNS, whether or not ClusterIPs are routed."""

    async def pod_network_gateway(self) -> str: ...  # "" when unknown


@runtime_checkable
class ContainerStatsSource(Protocol):
    """A runtime that reports what its containers use (Docker and Podman
    stats, the fake runtime's modelled usage)."""

    async def container_stats(self, container_id: str) -> ResourceUsage: ...


@runtime_checkable
class NodeStatsSource(Protocol):
    """A runtime whose node is not the host (the fake runtime's hollow
    nodes): it models the node's usage itself. Other nodes report the
    host's, read from /proc."""

    async def node_stats(self) -> ResourceUsage: ...


@runtime_checkable
class Runtime(Protocol):
    name: str

    async def version(self) -> str: ...
    async def close(self) -> None: ...

    # images
    async def ensure_image(self, image: str, pull_policy: PullPolicy) -> str: ...  # image id
    async def list_images(self) -> list[ImageInfo]: ...
    async def load_image(self, tar_path: str) -> list[str]: ...  # loaded tags

    # pod sandboxes
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str: ...
    async def stop_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def remove_pod_sandbox(self, sandbox_id: str) -> None: ...
    async def pod_sandbox_status(self, sandbox_id: str) -> PodSandboxStatus: ...
    async def list_pod_sandboxes(self) -> list[PodSandboxStatus]: ...

    # containers
    async def create_container(
        self, sandbox_id: str, config: ContainerConfig, sandbox: PodSandboxConfig
    ) -> str: ...
    async def start_container(self, container_id: str) -> None: ...
    async def stop_container(self, container_id: str, timeout: float) -> None: ...
    async def remove_container(self, container_id: str) -> None: ...
    async def container_status(self, container_id: str) -> ContainerStatus: ...
    async def list_containers(self, sandbox_id: str = "") -> list[ContainerStatus]: ...

    # streams
    def logs(
        self, container_id: str, *, follow: bool = False, tail: int = -1, timestamps: bool = False
    ) -> AsyncIterator[bytes]: ...
    async def exec_sync(
        self, container_id: str, command: list[str], timeout: float
    ) -> ExecResult: ...
    async def exec(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> ExecSession: ...
    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> ExecSession:
        """Attach to the running container's main process, as ``docker
        attach``: its output from now on until it ends, and (with ``stdin``,
        if the container was made with ``stdin``) its stdin. Closing stdin
        detaches; the process's stdin ends only with ``stdin_once``. Raises
        RuntimeFailure (``ContainerNotRunning``) for a container not running."""
        ...

    async def port_forward(
        self, sandbox_id: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection to ``port`` inside the pod's network namespace."""
        ...
