"""Container usage from the engines' stats endpoints, read straight from the
engine socket (``engine_http``): one sample, no streaming.

Docker answers ``/containers/{id}/stats`` with the cgroup's counters; the
working set is memory usage minus inactive file pages, as the kubelet
(cAdvisor) computes it, from ``inactive_file`` (cgroup v2) or
``total_inactive_file`` (v1). Podman's libpod API answers
``/containers/stats`` with the sums already made (``CPUNano``,
``MemUsage``).
"""

from __future__ import annotations

import time
from typing import Any

from shoal.plugins.runtimes.engine import parse_timestamp
from shoal.plugins.runtimes.engine_http import Endpoint
from shoal.runtime import ContainerNotFound, ResourceUsage


async def docker_stats(endpoint: Endpoint, container_id: str) -> ResourceUsage:
    raw = await endpoint.call(
        "GET", f"/containers/{container_id}/stats", {"stream": "false", "one-shot": "true"}
    )
    return docker_usage(raw or {})


def docker_usage(raw: dict[str, Any]) -> ResourceUsage:
    """A ResourceUsage from one Docker stats answer."""
    cpu = ((raw.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0
    memory = raw.get("memory_stats") or {}
    stats = memory.get("stats") or {}
    inactive = stats.get("inactive_file", stats.get("total_inactive_file", 0)) or 0
    working_set = max(int(memory.get("usage") or 0) - int(inactive), 0)
    stamp = parse_timestamp(raw.get("read")) or time.time()
    return ResourceUsage(int(stamp * 1e9), int(cpu), working_set)


async def libpod_stats(endpoint: Endpoint, container_id: str) -> ResourceUsage:
    raw = await endpoint.call(
        "GET", "/containers/stats", {"containers": container_id, "stream": "false"}
    )
    return libpod_usage(raw or {}, container_id)


def libpod_usage(raw: dict[str, Any], container_id: str) -> ResourceUsage:
    """A ResourceUsage from one libpod stats answer (``{"Stats": [...]}``)."""
    found = [s for s in raw.get("Stats") or [] if s.get("ContainerID", "").startswith(container_id)]
    if raw.get("Error") or not found:
        message = (raw.get("Error") or {}).get("message") if raw.get("Error") else ""
        raise ContainerNotFound(message or f"no stats for container {container_id}")
    stats = found[0]
    cpu, memory = int(stats.get("CPUNano") or 0), int(stats.get("MemUsage") or 0)
    return ResourceUsage(time.time_ns(), cpu, memory)
