"""What the Docker and Podman runtimes share: Kubernetes names and labels
for what they create, Kubernetes command semantics, and reading an engine's
inspect output into the contract's status types.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shoal.runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER_NAME,
    LABEL_MANAGED,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerConfig,
    ContainerState,
    ContainerStatus,
    PodSandboxConfig,
    PodSandboxStatus,
)

# As dockershim labelled them, so `docker ps --filter` reads as in tutorials.
LABEL_TYPE = "io.kubernetes.docker.type"
LABEL_SANDBOX_ID = "io.kubernetes.sandbox.id"
# Podman keeps no StdinOnce: attach reads the pod's wish from this label.
LABEL_STDIN_ONCE = "io.shoal.stdin-once"
TYPE_SANDBOX = "podsandbox"
TYPE_CONTAINER = "container"
ANNOTATION_PREFIX = "annotation."

_STATES: dict[str, ContainerState] = {
    "created": "created",
    "configured": "created",  # podman: created in the pod, not yet started
    "initialized": "created",
    "running": "running",
    "paused": "running",
    "restarting": "running",
    "stopping": "running",
    "exited": "exited",
    "stopped": "exited",
    "dead": "exited",
}


def sandbox_name(config: PodSandboxConfig) -> str:
    return f"k8s_POD_{config.name}_{config.namespace}_{config.uid}_{config.attempt}"


def container_name(config: ContainerConfig, sandbox: PodSandboxConfig) -> str:
    pod = f"{sandbox.name}_{sandbox.namespace}_{sandbox.uid}"
    return f"k8s_{config.name}_{pod}_{config.attempt}"


def sandbox_labels(config: PodSandboxConfig, node: str) -> dict[str, str]:
    """Pod labels, annotations (prefixed), then the labels shoal relies on."""
    labels = dict(config.labels)
    labels.update(_annotations(config.annotations))
    labels.update(_pod_labels(config, node))
    labels[LABEL_TYPE] = TYPE_SANDBOX
    labels[LABEL_ATTEMPT] = str(config.attempt)
    return labels


def container_labels(
    config: ContainerConfig, sandbox: PodSandboxConfig, sandbox_id: str, node: str
) -> dict[str, str]:
    labels = dict(config.labels)
    labels.update(_annotations(config.annotations))
    labels.update(_pod_labels(sandbox, node))
    labels[LABEL_TYPE] = TYPE_CONTAINER
    labels[LABEL_CONTAINER_NAME] = config.name
    labels[LABEL_ATTEMPT] = str(config.attempt)
    labels[LABEL_SANDBOX_ID] = sandbox_id
    if config.stdin_once:
        labels[LABEL_STDIN_ONCE] = "true"
    return labels


def _pod_labels(config: PodSandboxConfig, node: str) -> dict[str, str]:
    labels = {
        LABEL_POD_NAME: config.name,
        LABEL_POD_NAMESPACE: config.namespace,
        LABEL_POD_UID: config.uid,
        LABEL_MANAGED: "true",
    }
    if node:
        labels[LABEL_NODE] = node
    return labels


def _annotations(annotations: dict[str, str]) -> dict[str, str]:
    return {ANNOTATION_PREFIX + key: value for key, value in annotations.items()}


def managed_filter(kind: str, node: str) -> list[str]:
    """Label filters (``key=value``) that select what this runtime made."""
    filters = [f"{LABEL_MANAGED}=true", f"{LABEL_TYPE}={kind}"]
    if node:
        filters.append(f"{LABEL_NODE}={node}")
    return filters


def entrypoint_and_cmd(config: ContainerConfig) -> tuple[list[str] | None, list[str] | None]:
    """Kubernetes semantics: ``command`` replaces the image's ENTRYPOINT (and
    drops its CMD), ``args`` replace CMD. None means "the image's"."""
    entrypoint = list(config.command) or None
    cmd = list(config.args) or None
    if entrypoint is not None and cmd is None:
        cmd = []
    return entrypoint, cmd


def env_list(env: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in env.items()]


def nano_cpus(cpu_millis: int) -> int:
    return cpu_millis * 1_000_000


CPU_PERIOD_US = 100_000


def cpu_quota(cpu_millis: int) -> int:
    """CFS quota (µs per 100 ms period) for a limit; the kernel's minimum is 1 ms."""
    return max(cpu_millis * CPU_PERIOD_US // 1000, 1000)


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


def parse_timestamp(text: str | None) -> float:
    """Seconds since the epoch from an engine's RFC 3339 nanosecond stamp;
    0.0 for Go's zero time or nothing."""
    if not text or text.startswith("0001-"):
        return 0.0
    match = _STAMP.match(text)
    if not match:
        return 0.0
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    stamp = datetime.fromisoformat(f"{base}.{(fraction or '0')[:6]:0<6}{zone}")
    return stamp.timestamp()


def container_state(engine_state: str) -> ContainerState:
    return _STATES.get(engine_state.lower(), "unknown")


def exit_reason(state: dict[str, Any]) -> str:
    if state.get("OOMKilled"):
        return "OOMKilled"
    return "Completed" if state.get("ExitCode", 0) == 0 else "Error"


def container_status(inspect: dict[str, Any], image: str = "") -> ContainerStatus:
    """A ContainerStatus from ``docker inspect`` / libpod inspect output."""
    state = inspect.get("State") or {}
    labels = _labels_of(inspect)
    status = ContainerStatus(
        id=inspect["Id"],
        name=labels.get(LABEL_CONTAINER_NAME, inspect.get("Name", "").lstrip("/")),
        sandbox_id=labels.get(LABEL_SANDBOX_ID, ""),
        state=container_state(state.get("Status", "")),
        image=image or (inspect.get("Config") or {}).get("Image", ""),
        image_id=inspect.get("Image", ""),
        created_at=parse_timestamp(inspect.get("Created")),
        started_at=parse_timestamp(state.get("StartedAt")),
        finished_at=parse_timestamp(state.get("FinishedAt")),
        attempt=_int(labels.get(LABEL_ATTEMPT)),
        labels=labels,
    )
    if status.state == "exited":
        # Podman may stamp a fast exit a few µs before its start.
        status.finished_at = max(status.finished_at, status.started_at)
        status.exit_code = int(state.get("ExitCode", 0))
        status.reason = exit_reason(state)
        status.message = state.get("Error", "") or ""
    return status


def sandbox_status(inspect: dict[str, Any], ip: str, sandbox_id: str = "") -> PodSandboxStatus:
    """A PodSandboxStatus from the inspect output of the container holding
    the pod's namespaces (the pause or infra container)."""
    labels = _labels_of(inspect)
    running = (inspect.get("State") or {}).get("Status", "").lower() == "running"
    return PodSandboxStatus(
        id=sandbox_id or inspect["Id"],
        name=labels.get(LABEL_POD_NAME, ""),
        namespace=labels.get(LABEL_POD_NAMESPACE, ""),
        uid=labels.get(LABEL_POD_UID, ""),
        state="ready" if running else "notready",
        ip=ip if running else "",
        created_at=parse_timestamp(inspect.get("Created")),
        attempt=_int(labels.get(LABEL_ATTEMPT)),
        labels=labels,
    )


def bridge_ip(inspect: dict[str, Any]) -> str:
    """The first IPv4 address of a container in its network settings."""
    settings = inspect.get("NetworkSettings") or {}
    if settings.get("IPAddress"):
        return str(settings["IPAddress"])
    for network in (settings.get("Networks") or {}).values():
        if network and network.get("IPAddress"):
            return str(network["IPAddress"])
    return ""


def _labels_of(inspect: dict[str, Any]) -> dict[str, str]:
    return dict((inspect.get("Config") or {}).get("Labels") or {})


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0
